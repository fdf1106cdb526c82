// WebSocket client for /ws. It owns reconnection so the UI only sees parsed
// StreamMessages and a status. It remembers the largest sequenceNumber seen
// and reconnects with ?since=SEQ, so the collector replays whatever was
// committed while we were away (feed.ts drops any duplicate that replay
// resends). The socket constructor and timers are injectable for tests.
import { authToken } from './api';
import type { StreamMessage, WsStatus } from './types';

/** The subset of the browser WebSocket we use; lets tests pass a fake. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface StreamOptions {
  onMessage: (msg: StreamMessage) => void;
  onStatus?: (status: WsStatus) => void;
  /** Start from this seq (e.g. one already known); null = live only. */
  since?: number | null;
  /** Base URL without query; defaults to same-origin /ws. */
  url?: string;
  socket?: SocketFactory;
  minDelayMs?: number;
  maxDelayMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface StreamHandle {
  close(): void;
  lastSeq(): number | null;
  status(): WsStatus;
}

export function defaultStreamUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${proto}://${location.host}/ws`;
}

/** The URL for one connection attempt; exported for tests. */
export function streamUrl(base: string, since: number | null, token: string | null): string {
  const q = new URLSearchParams();
  if (since !== null) q.set('since', String(since));
  if (token) q.set('token', token); // browsers cannot set headers on a WebSocket
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

/** Exponential backoff: min, 2*min, 4*min ... capped at max. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** attempt);
}

export function openStream(opts: StreamOptions): StreamHandle {
  const minDelay = opts.minDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 10_000;
  const makeSocket: SocketFactory = opts.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));

  let lastSeq: number | null = opts.since ?? null;
  let status: WsStatus = 'connecting';
  let attempt = 0;
  let closed = false;
  let sock: SocketLike | null = null;
  let timer: unknown = null;

  const setStatus = (s: WsStatus) => {
    if (s === status) return;
    status = s;
    opts.onStatus?.(s);
  };

  const connect = () => {
    timer = null;
    const s = makeSocket(streamUrl(opts.url ?? defaultStreamUrl(), lastSeq, authToken()));
    sock = s;
    s.onopen = () => {
      attempt = 0;
      setStatus('live');
    };
    s.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: StreamMessage;
      try {
        msg = JSON.parse(ev.data) as StreamMessage;
      } catch {
        return; // a garbled frame must not kill the stream
      }
      if (msg.type === 'trace_event') {
        const seq = msg.payload?.sequenceNumber;
        if (typeof seq === 'number' && (lastSeq === null || seq > lastSeq)) lastSeq = seq;
      }
      opts.onMessage(msg);
    };
    // onerror is always followed by onclose; reconnect from one place only.
    s.onerror = () => {};
    s.onclose = () => {
      if (sock !== s) return;
      sock = null;
      if (closed) return;
      setStatus('reconnecting');
      timer = setTimer(connect, backoffDelay(attempt++, minDelay, maxDelay));
    };
  };

  opts.onStatus?.(status);
  connect();

  return {
    close() {
      closed = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
      const s = sock;
      sock = null;
      if (s) {
        s.onopen = s.onmessage = s.onclose = s.onerror = null;
        s.close();
      }
    },
    lastSeq: () => lastSeq,
    status: () => status,
  };
}
