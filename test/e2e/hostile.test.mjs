// hostile.test.mjs — a real collector (BUILD=build-asan: ASan + UBSan)
// against clients that lie, stall and attack: garbage and oversized
// messages on the ZeroMQ port, malformed and slow HTTP, SQL injection in
// every parameter, path traversal against the UI files, WebSocket frames
// before auth and garbage frames after it, a thousand idle connections.
// Every test checks three things: each bad input gets a clear error (a
// JSON error body with the right status where HTTP) or its connection is
// dropped; the collector stays up (healthz ok, and a clean exit 0, so
// ASan's leak check runs); the good data stored before is exactly intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BUILD, tempDir, startCollector, sql, getJson, openWs, waitFor } from './harness.mjs';

const run = promisify(execFile);
const SECRET = 'top-secret-outside-the-ui-dir';

/** Store `n` good events in trace `trace` and wait until all are in SQLite. */
async function seed(c, db, trace, n) {
  await run(join(BUILD, 'bin', 'wire-flood'), ['load', c.ingest, '20000', String(n / 20000), trace]);
  await waitFor(() => counts(db, trace).events === n, { timeout: 20000, what: `${n} events of ${trace} stored` });
}

function counts(db, trace) {
  const [r] = sql(db, `SELECT (SELECT count(*) FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${trace}') AS events,
    (SELECT count(*) FROM traces) AS traces, (SELECT count(*) FROM agents) AS agents`);
  return r;
}

async function healthy(c) {
  const h = await getJson(`${c.url}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  return h.body;
}

/** Send raw bytes over TCP; resolves with everything the server sent
 * back before it closed (or `timeout` ms passed). */
function rawHttp(addr, bytes, { timeout = 5000, end = true } = {}) {
  const [host, port] = addr.split(':');
  return new Promise((resolve) => {
    const s = net.connect(+port, host);
    const chunks = [];
    const done = (how) => { clearTimeout(timer); s.destroy(); resolve({ text: Buffer.concat(chunks).toString('latin1'), how }); };
    const timer = setTimeout(() => done('timeout'), timeout);
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => done('closed'));
    s.on('error', () => done('error'));
    s.write(bytes, () => { if (end) s.end(); });
  });
}

/** The HTTP response in `text`: status and JSON body (null if none). */
function parseResponse(text) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!m) return null;
  // one response: the body its Content-Length gives (a refused request's
  // unread body may be answered as a next request after it)
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const len = /\r\ncontent-length: *(\d+)/i.exec(head);
  const rest = text.slice(head.length + 4);
  const body = len ? rest.slice(0, +len[1]) : rest;
  let json = null;
  try { json = JSON.parse(body); } catch { /* checked by the caller */ }
  return { status: +m[1], json, body };
}

/** A clear refusal: a JSON error with a matching 4xx/5xx status, or a dropped connection. */
function assertRefused(res, what) {
  if (res.text === '') return 'dropped';
  const r = parseResponse(res.text);
  assert.ok(r, `${what}: an HTTP response, got ${JSON.stringify(res.text.slice(0, 80))}`);
  assert.ok(r.status >= 400 && r.status < 600, `${what}: error status, got ${r.status}`);
  assert.ok(r.json && r.json.error && r.json.error.status === r.status,
    `${what}: JSON error body with status ${r.status}, got ${JSON.stringify(r.body.slice(0, 120))}`);
  return r.status;
}

test('ZeroMQ port: garbage, near-valid, oversized and non-ZMTP bytes are refused; good data intact', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null });
  await seed(c, db, 'baseline', 2000);
  const before = counts(db, 'baseline');
  // raw TCP that is not ZMTP at all (libzmq may read some of it as ZMTP/1.0
  // frames: those reach the decoder and are refused like any garbage), and
  // a ZMTP 3 greeting announcing a frame of 2^63-1 bytes
  const port = c.ingest.split(':').pop();
  await rawHttp(`127.0.0.1:${port}`, randomBytes(64 * 1024), { timeout: 1000 });
  const zmtp = Buffer.alloc(64 + 9);
  zmtp[0] = 0xff; zmtp[9] = 0x7f; zmtp[10] = 3; zmtp[11] = 0; // signature, version 3.0
  Buffer.from('NULL').copy(zmtp, 12);
  zmtp[64] = 0x02; zmtp.writeBigUInt64BE(0x7fffffffffffffffn, 65); // long frame, 2^63-1 bytes
  await rawHttp(`127.0.0.1:${port}`, zmtp, { timeout: 1000 });
  await new Promise((r) => setTimeout(r, 300));
  const rejectedBefore = (await healthy(c)).batchesRejected;
  const { stdout } = await run(join(BUILD, 'bin', 'wire-flood'), ['garbage', c.ingest, '3000']);
  assert.match(stdout, /garbage=3000 good_events=10/);
  await waitFor(() => counts(db, 'hostile-after').events === 10, { timeout: 20000, what: 'the good batch after the garbage' });
  const h = await healthy(c);
  // every garbage message is counted as a reject (the oversized one never
  // reaches us: ZeroMQ drops that peer at ZMQ_MAXMSGSIZE)
  assert.equal(h.batchesRejected - rejectedBefore, 3000);
  t.diagnostic(`ZeroMQ: ${rejectedBefore} messages from raw TCP bytes and 3000 garbage messages refused, one 20 MB message dropped`);
  assert.deepEqual(counts(db, 'baseline'), { ...before, traces: before.traces + 1, agents: before.agents + 10 });
  assert.equal(await c.stop(), 0);
});

const MALFORMED = [
  ['garbage request line', 'GARBAGE\r\n\r\n'],
  ['no version', 'GET /healthz\r\n\r\n'],
  ['unknown version', 'GET /healthz HTTP/9.9\r\n\r\n'],
  ['unknown method', 'BREW /api/traces HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['NUL bytes', 'GET /api/\0traces HTTP/1.1\r\n\0\r\n\r\n'],
  ['binary', randomBytes(4096)],
  ['header without colon', 'GET /healthz HTTP/1.1\r\nthis is not a header\r\n\r\n'],
  ['huge header', `GET /healthz HTTP/1.1\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`],
  ['many headers (legal: extras ignored)', `GET /healthz HTTP/1.1\r\n${Array.from({ length: 500 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`],
  ['huge URL', `GET /api/traces?session=${'a'.repeat(50000)} HTTP/1.1\r\n\r\n`],
  ['bad Content-Length', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: abc\r\n\r\n{}'],
  ['negative Content-Length', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}'],
  ['two Content-Lengths', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 900\r\n\r\n{}'],
  ['Content-Length past the body', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{"agentId":'],
  ['Content-Length of 8 GB', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: 8589934592\r\n\r\n{}'],
  ['Content-Length overflowing', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n{}'],
  ['snapshot body not JSON', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{'],
  ['chunked garbage', 'POST /api/traces/baseline/snapshots HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n'],
  ['absolute URL elsewhere', 'GET http://example.com/etc/passwd HTTP/1.1\r\n\r\n'],
];

test('malformed HTTP: every request gets a JSON error with its status or is dropped; slowloris blocks nobody', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null });
  await seed(c, db, 'baseline', 1000);
  const before = counts(db, 'baseline');
  const seen = {};
  for (const [what, req] of MALFORMED) {
    const res = await rawHttp(c.http, req);
    const r = parseResponse(res.text);
    if (what.includes('(legal') && r?.status === 200) { seen[what] = 200; continue; }
    seen[what] = assertRefused(res, what);
  }
  t.diagnostic(`malformed HTTP: ${JSON.stringify(seen)}`);
  // slowloris: 100 connections sending one header byte at a time; others must not wait
  const slow = [];
  t.after(() => { for (const s of slow) s.destroy(); });
  const [host, port] = c.http.split(':');
  for (let i = 0; i < 100; i++) {
    const s = net.connect(+port, host);
    s.on('error', () => {});
    s.write('GET /api/traces HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    slow.push(s);
  }
  const drip = setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('a'); }, 200);
  t.after(() => clearInterval(drip));
  for (let i = 0; i < 10; i++) {
    const t0 = Date.now();
    const r = await getJson(`${c.url}/api/traces`);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 < 1000, `a normal request during slowloris took ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(drip);
  for (const s of slow) s.destroy();
  await healthy(c);
  assert.deepEqual(counts(db, 'baseline'), before);
  assert.equal(await c.stop(), 0);
});

const INJECTIONS = [
  "' OR '1'='1", "1' OR 1=1--", "'; DROP TABLE events;--", '"; DELETE FROM traces;--',
  '1; DELETE FROM events', "%' OR '%'='", ') OR (1=1', '1 UNION SELECT * FROM traces',
  "baseline' --", '\\x00', "task.*' OR type LIKE '%", '0x1;DROP TABLE agents',
];

test('SQL injection in every parameter: 400 or an empty result, and the data exactly intact', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null });
  await seed(c, db, 'baseline', 1000);
  const before = counts(db, 'baseline');
  const enc = encodeURIComponent;
  const endpoints = [
    ['/api/traces', ['limit', 'offset', 'status', 'session', 'from', 'to']],
    ['/api/traces/baseline/events', ['limit', 'offset', 'after', 'agent', 'type', 'level', 'parent']],
    ['/api/traces/baseline/events/search', ['q', 'limit', 'agent', 'type', 'level', 'parent']],
    ['/api/traces/baseline/events/range', ['from', 'to', 'limit', 'agent', 'type', 'level', 'parent']],
    ['/api/traces/baseline/snapshots', ['agent', 'type', 'before', 'limit']],
    ['/api/metrics/overhead', ['trace']],
  ];
  const listOf = (b) => b.traces ?? b.events ?? b.snapshots ?? null;
  let tried = 0;
  for (const [path, params] of endpoints) {
    for (const p of params) {
      for (const inj of INJECTIONS) {
        // range needs from/to to get past its own checks to the filters
        const base = path.endsWith('/range') && p !== 'from' && p !== 'to' ? 'from=0&to=9000000000000000&' : '';
        const r = await getJson(`${c.url}${path}?${base}${p}=${enc(inj)}`);
        tried++;
        if (r.status === 400) { assert.equal(r.body.error.status, 400); continue; }
        assert.equal(r.status, 200, `${path}?${p}=${inj}: ${r.status}`);
        const list = listOf(r.body);
        if (list) assert.equal(list.length, 0, `${path}?${p}=${inj} matched ${list.length} rows`);
        else assert.equal(r.body.reports, 0, `${path}?${p}=${inj}`);
      }
    }
  }
  // and in the path: the trace id and the snapshot id
  for (const inj of INJECTIONS) {
    for (const path of [`/api/traces/${enc(inj)}`, `/api/traces/${enc(inj)}/events`, `/api/traces/${enc(inj)}/graph`, `/api/snapshots/${enc(inj)}`]) {
      const r = await getJson(`${c.url}${path}`);
      tried++;
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.equal(r.body.error.status, r.status);
    }
    for (const method of ['DELETE', 'POST']) {
      const res = await fetch(`${c.url}/api/traces/${enc(inj)}${method === 'POST' ? '/stop' : ''}`, { method });
      tried++;
      assert.equal(res.status, 404, `${method} ${inj}`);
    }
  }
  t.diagnostic(`SQL injection requests: ${tried}`);
  await healthy(c);
  assert.deepEqual(counts(db, 'baseline'), before);
  const [s] = sql(db, "SELECT status FROM traces WHERE name = 'baseline'");
  assert.equal(s.status, 'active', 'no injected stop reached the trace');
  assert.equal(await c.stop(), 0);
});

const TRAVERSALS = [
  '/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt',
  '/./../secret.txt', '/assets/../../secret.txt', '/assets/..%2f..%2fsecret.txt', '/%252e%252e/secret.txt',
  '/..\\secret.txt', '/..%5csecret.txt', '/%c0%ae%c0%ae/secret.txt', '/....//secret.txt', '//secret.txt',
  '/../../../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd', '/ui/secret.txt%00.html',
  '/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt', '/..;/secret.txt',
];

test('path traversal: the static file server never serves a file outside the UI dir', async (t) => {
  const dir = tempDir(t);
  const ui = join(dir, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  const c = await startCollector(t, { db: join(dir, 'traces.db'), ui });
  const ok = parseResponse((await rawHttp(c.http, 'GET /assets/app.js HTTP/1.1\r\nHost: x\r\n\r\n', { timeout: 1000 })).text);
  assert.equal(ok.status, 200, 'a file inside the UI dir is served');
  const seen = {};
  for (const p of TRAVERSALS) {
    const res = await rawHttp(c.http, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(!res.text.includes(SECRET), `${p} served the secret`);
    assert.ok(!/root:.*:0:0:/.test(res.text), `${p} served /etc/passwd`);
    const r = parseResponse(res.text);
    // index.html for "/" style paths is fine; anything else is a JSON refusal
    if (r && r.status === 200) assert.match(r.body, /<title>ui<\/title>/, `${p}: 200 with something else`);
    else seen[p] = assertRefused(res, p);
  }
  t.diagnostic(`path traversal: ${JSON.stringify(seen)}`);
  await healthy(c);
  assert.equal(await c.stop(), 0);
});

/** The WebSocket handshake by hand, so frames can be anything afterwards. */
async function rawWs(addr, path = '/ws', headers = '') {
  const [host, port] = addr.split(':');
  const s = net.connect(+port, host);
  s.on('error', () => {});
  let buf = Buffer.alloc(0);
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`);
  await waitFor(() => buf.includes('\r\n\r\n') || s.destroyed, { timeout: 5000, what: 'handshake answer' });
  const head = buf.toString('latin1', 0, buf.indexOf('\r\n\r\n'));
  buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
  return { s, head, data: () => buf, closed: () => s.destroyed || s.readableEnded };
}

/** A client frame, masked as the protocol requires (unless told not to). */
function frame(opcode, payload, { fin = true, mask = true, lengthOverride } = {}) {
  const len = lengthOverride ?? payload.length;
  const head = [((fin ? 0x80 : 0) | opcode)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else { head.push(m | 127); const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); head.push(...b); }
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

test('WebSocket: no frame before auth with --token, garbage and oversized frames refused', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const token = 's3cret-token';
  const c = await startCollector(t, { db, token, ui: null });
  await seed(c, db, 'baseline', 500);
  const before = counts(db, 'baseline');
  // before auth: no token, a wrong one, in the header and the URL
  for (const [path, hdr] of [['/ws', ''], ['/ws?token=wrong', ''], ['/ws', 'Authorization: Bearer wrong\r\n'],
    ['/ws?since=0', 'Authorization: Basic czNjcmV0LXRva2Vu\r\n']]) {
    const w = await rawWs(c.http, path, hdr);
    assert.match(w.head, /^HTTP\/1\.1 401/, `${path} ${hdr}: 401 without the token`);
    // frames sent anyway must never reach the stream
    w.s.write(frame(1, '{"type":"subscribe","filter":{}}'));
    await waitFor(() => w.closed(), { timeout: 5000, what: 'the refused connection closed' });
    assert.equal(JSON.parse(w.data().toString()).error.status, 401);
    w.s.destroy();
  }
  const rest = await getJson(`${c.url}/api/traces`);
  assert.equal(rest.status, 401);
  assert.equal(rest.body.error.status, 401);

  const auth = `Authorization: Bearer ${token}\r\n`;
  const tried = [];
  const garbage = [
    ['not JSON', frame(1, '{"type":')],
    ['unknown type', frame(1, '{"type":"drop_tables"}')],
    ['bad filter', frame(1, '{"type":"subscribe","filter":{"minLevel":"loud"}}')],
    ['filter not an object', frame(1, '{"type":"subscribe","filter":"all"}')],
    ['deep nesting', frame(1, '['.repeat(100000))],
    ['invalid UTF-8', frame(1, Buffer.from([0xc0, 0xaf, 0xff, 0xfe]))],
    ['binary frame', frame(2, randomBytes(1000))],
    ['reserved opcode', frame(0x3, 'x')],
    ['continuation without start', frame(0, 'x')],
  ];
  for (const [what, bytes] of garbage) {
    const w = await rawWs(c.http, '/ws', auth);
    assert.match(w.head, /^HTTP\/1\.1 101/, `before ${what}; collector: ${c.exited ? 'exited' : 'up'} ${c.stderr().slice(-3000)}`);
    w.s.write(bytes);
    // an error message back, or the connection closed: never silence while open
    await waitFor(() => w.data().includes('"error"') || w.closed(), { timeout: 5000, what: `answer to ${what}` });
    tried.push(what);
    w.s.destroy();
  }
  // frames that lie about their size, an unmasked frame, a 4 MB text frame, random bytes
  const lies = [
    ['length 2^63-1', frame(1, 'x', { lengthOverride: 2 ** 53 - 1 })],
    ['length 1 GB, 10 bytes sent', frame(1, 'abcdefghij', { lengthOverride: 1 << 30 })],
    ['unmasked', frame(1, '{"type":"subscribe"}', { mask: false })],
    ['4 MB text', frame(1, `{"type":"subscribe","filter":{"agentId":"${'a'.repeat(4 << 20)}"}}`)],
    ['random bytes', randomBytes(100000)],
  ];
  for (const [what, bytes] of lies) {
    const w = await rawWs(c.http, '/ws', auth);
    w.s.write(bytes);
    await new Promise((r) => setTimeout(r, 300));
    tried.push(what);
    w.s.destroy();
  }
  t.diagnostic(`WebSocket hostile frames: ${tried.length}`);
  // a well-behaved client still works, and sees new data
  const good = await openWs(`ws://${c.http}/ws?token=${token}`);
  await run(join(BUILD, 'bin', 'wire-flood'), ['load', c.ingest, '10000', '0.01', 'after-ws']);
  await waitFor(() => good.events().length === 100, { timeout: 10000, what: 'the good client gets new events' });
  await good.close();
  const h = await getJson(`${c.url}/healthz`, { Authorization: `Bearer ${token}` });
  assert.equal(h.body.status, 'ok');
  assert.deepEqual(counts(db, 'baseline'), { ...before, traces: before.traces + 1, agents: before.agents + 100 });
  assert.equal(await c.stop(), 0);
});

test('1000 idle TCP connections: each dropped or answered with a JSON error, the collector serves others and stays up', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null, extra: ['--max-clients', '1000'] });
  await seed(c, db, 'baseline', 1000);
  const before = counts(db, 'baseline');
  const [host, port] = c.http.split(':');
  const conns = [];
  t.after(() => { for (const s of conns) s.s.destroy(); });
  for (let i = 0; i < 1000; i++) {
    const s = net.connect(+port, host);
    const rec = { s, data: '', closed: false };
    s.on('data', (d) => { rec.data += d.toString('latin1'); });
    s.on('close', () => { rec.closed = true; });
    s.on('error', () => {});
    if (i % 2) s.write('GET /api/traces HTTP/1.1\r\n'); // half start a request and stop
    conns.push(rec);
  }
  await waitFor(() => conns.every((r) => r.s.readyState === 'open' || r.closed), { timeout: 10000, what: '1000 connected' });
  // the collector still answers others while they sit there
  const t0 = Date.now();
  const h = await getJson(`${c.url}/healthz`);
  assert.equal(h.body.status, 'ok');
  const live = Date.now() - t0;
  // the server's request timeout (10 s) ends every one of them
  await waitFor(() => conns.every((r) => r.closed), { timeout: 30000, interval: 500, what: 'every idle connection ended by the server' });
  const outcome = { dropped: 0 };
  for (const r of conns) {
    const o = assertRefused({ text: r.data }, 'idle connection');
    outcome[o] = (outcome[o] ?? 0) + 1;
  }
  t.diagnostic(`1000 idle connections: healthz took ${live} ms meanwhile; outcomes ${JSON.stringify(outcome)}`);
  await healthy(c);
  assert.deepEqual(counts(db, 'baseline'), before);
  assert.equal(await c.stop(), 0);
});
