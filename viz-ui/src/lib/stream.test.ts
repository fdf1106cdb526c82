// Tests of the WebSocket client with a fake socket and manual timers:
// status changes, backoff, and reconnecting with ?since= the last seq.
import { describe, expect, it } from 'vitest';
import { backoffDelay, openStream, streamUrl, type SocketLike } from './stream';
import type { StreamMessage, WsStatus } from './types';

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closed = false;
  constructor(readonly url: string) {}
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.({});
  }
  send(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  drop() {
    this.onerror?.({});
    this.onclose?.({});
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const statuses: WsStatus[] = [];
  const messages: StreamMessage[] = [];
  const handle = openStream({
    url: 'ws://h/ws',
    socket: (u) => {
      const s = new FakeSocket(u);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearTimer: () => {},
    onStatus: (s) => statuses.push(s),
    onMessage: (m) => messages.push(m),
    minDelayMs: 100,
    maxDelayMs: 1000,
  });
  const fire = () => timers.shift()!.fn();
  return { sockets, timers, statuses, messages, handle, fire };
}

const eventMsg = (seq: number) => ({
  type: 'trace_event',
  timestamp: 1,
  traceId: 't',
  payload: { events: [], batchId: 'b', sequenceNumber: seq },
});

describe('stream', () => {
  it('connects without since, goes live on open, passes messages on', () => {
    const h = harness();
    expect(h.sockets[0]!.url).toBe('ws://h/ws');
    expect(h.statuses).toEqual(['connecting']);
    h.sockets[0]!.open();
    expect(h.handle.status()).toBe('live');
    h.sockets[0]!.send(eventMsg(42));
    h.sockets[0]!.send({ type: 'heartbeat', timestamp: 2, payload: {} });
    expect(h.messages.map((m) => m.type)).toEqual(['trace_event', 'heartbeat']);
    expect(h.handle.lastSeq()).toBe(42);
  });

  it('skips frames that are not JSON', () => {
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.send('{not json');
    expect(h.messages).toEqual([]);
    expect(h.handle.status()).toBe('live');
  });

  it('reconnects with backoff and ?since= the largest seq seen', () => {
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.send(eventMsg(10));
    h.sockets[0]!.send(eventMsg(7)); // an older number never moves since back
    h.sockets[0]!.drop();
    expect(h.handle.status()).toBe('reconnecting');
    expect(h.timers.map((t) => t.ms)).toEqual([100]);
    h.fire();
    expect(h.sockets[1]!.url).toBe('ws://h/ws?since=10');
    h.sockets[1]!.drop(); // failed before opening: wait longer
    expect(h.timers.map((t) => t.ms)).toEqual([200]);
    h.fire();
    h.sockets[2]!.open();
    expect(h.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    h.sockets[2]!.drop(); // a successful open resets the backoff
    expect(h.timers.map((t) => t.ms)).toEqual([100]);
  });

  it('stops for good on close()', () => {
    const h = harness();
    h.sockets[0]!.open();
    h.handle.close();
    expect(h.sockets[0]!.closed).toBe(true);
    h.sockets[0]!.drop(); // handlers were detached
    expect(h.timers).toEqual([]);
  });

  it('builds URLs and delays', () => {
    expect(streamUrl('ws://h/ws', 5, 'sec ret')).toBe('ws://h/ws?since=5&token=sec+ret');
    expect(streamUrl('ws://h/ws', null, null)).toBe('ws://h/ws');
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 500, 4000))).toEqual([500, 1000, 2000, 4000, 4000]);
  });
});
