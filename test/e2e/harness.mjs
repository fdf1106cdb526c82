// harness.mjs — start and stop the real programs for end-to-end tests.
//
// Every test runs the built trace-collector as a child process on free
// loopback ports (port 0, tcp://127.0.0.1:*) with a database in a fresh
// temp dir, and waits for its ready line; nothing is mocked. BUILD selects
// the build directory (build-asan runs everything under ASan + UBSan).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BUILD = resolve(ROOT, process.env.BUILD || 'build');
export const UI_DIR = join(ROOT, 'viz-ui', 'dist');

export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-tracer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Start trace-collector; resolves once it printed its ready line. */
export async function startCollector(t, { db, token, ui = UI_DIR, ingest = 'tcp://127.0.0.1:*', listen = '127.0.0.1:0', extra = [] } = {}) {
  const args = ['--listen', listen, '--ingest', ingest, '--db', db, '--quiet', ...extra];
  if (ui) args.push('--ui', ui);
  if (token) args.push('--token', token);
  const proc = spawn(join(BUILD, 'bin', 'trace-collector'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const ready = await new Promise((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`collector not ready in 15 s:\n${stderr}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /trace-collector ready http=(\S+) ingest=(\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolveReady({ http: m[1], ingest: m[2] }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`collector exited ${code}:\n${stderr}`)); });
  });
  const c = {
    proc, ...ready, url: `http://${ready.http}`, stderr: () => stderr,
    exited: false, exitCode: null,
    /** SIGINT, then the exit code (the collector flushes and exits 0). */
    async stop() {
      if (c.exited) return c.exitCode;
      const done = once(proc, 'exit');
      proc.kill('SIGINT');
      const [code, signal] = await done;
      c.exited = true;
      c.exitCode = code ?? signal;
      return c.exitCode;
    },
  };
  proc.on('exit', () => { c.exited = true; });
  t.after(async () => { if (!c.exited) { proc.kill('SIGKILL'); await once(proc, 'exit').catch(() => {}); } });
  return c;
}

/** Run swarm-demo to completion; returns its parsed final stats line. */
export async function runSwarm(ingest, args, env = {}) {
  const proc = spawn(join(BUILD, 'bin', 'swarm-demo'), ['--quiet', ...args], {
    // exact counts: every event kept, whatever the CPU load of the test machine
    env: { ...process.env, TRACE_COLLECTOR_URL: ingest, TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`swarm-demo exited ${code}:\n${err}`);
  return parseSwarmLine(out, err);
}

export function parseSwarmLine(out, err = '') {
  const m = /swarm-demo: trace=(\S+) agents=(\d+) recorded=(\d+) sent=(\d+) sampled_out=(\d+) dropped=(\d+)/.exec(out);
  if (!m) throw new Error(`no stats line from swarm-demo:\n${out}\n${err}`);
  return { trace: m[1], agents: +m[2], recorded: +m[3], sent: +m[4], sampledOut: +m[5], dropped: +m[6] };
}

/** Query the real SQLite file with the sqlite3 shell (read-only). */
export function sql(db, query) {
  const out = execFileSync('sqlite3', ['-readonly', '-json', db, query], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

export async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  const body = await res.json();
  return { status: res.status, body, headers: res.headers };
}

/** A WebSocket client that records every message. */
export async function openWs(url) {
  const ws = new WebSocket(url);
  const messages = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await once(ws, 'open');
  return {
    ws, messages,
    events: () => messages.filter((m) => m.type === 'trace_event').flatMap((m) => m.payload.events),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, 'close');
      ws.close(1000, 'done');
      const [code] = await closed;
      return code;
    },
  };
}

export async function waitFor(fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
