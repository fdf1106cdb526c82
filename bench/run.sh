#!/usr/bin/env bash
# run.sh — `make bench`: libtrace's hot path next to LTTng-UST's in one run.
# Starts a real collector on free loopback ports with a throw-away
# database, runs bench/hotpath.c against it, then bench/lttng/run.sh (the
# same measurement for lttng_ust_tracepoint), and prints both tables and
# the ratios, since only ratios from one run are comparable on a noisy VM.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_CPU=${BENCH_CPU:-1} # both measured threads on the same vCPU
dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
build/bin/trace-collector --listen 127.0.0.1:0 --ingest 'tcp://127.0.0.1:*' \
  --db "$dir/bench.db" --quiet >"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q ready "$dir/ready" 2>/dev/null && break; sleep 0.1; done
ingest=$(sed -n 's/.*ingest=\(\S*\).*/\1/p' "$dir/ready")
echo "# bench: $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), measuring threads on CPU $BENCH_CPU"
echo
echo "## libtrace hot path (1 thread, ${BENCH_CALLS:-2000000} calls per case)"
TRACE_COLLECTOR_URL=$ingest build/bin/bench-hotpath "${BENCH_CALLS:-2000000}" | tee "$dir/ours"
echo
echo "## collector ingest: 10 000 traces x 100 events, next to bare SQLite"
idir=$(mktemp -d)
build/bin/trace-collector --listen 127.0.0.1:0 --ingest 'tcp://127.0.0.1:*' \
  --db "$idir/ingest.db" --quiet >"$idir/ready" 2>"$idir/log" &
ipid=$!
for _ in $(seq 100); do grep -q ready "$idir/ready" 2>/dev/null && break; sleep 0.1; done
iep=$(sed -n 's/.*ingest=\(\S*\).*/\1/p' "$idir/ready")
echo "| what | rows | rows/s | |"
echo "|---|---:|---:|---|"
build/bin/bench-ingest collector "$iep" "$idir/ingest.db" "$ipid" | tee "$idir/c"
kill -INT "$ipid"; wait "$ipid" 2>/dev/null || true
build/bin/bench-ingest bare "$idir/bare.db" schema/schema.sql | tee "$idir/b"
awk -F'|' 'FNR == 1 && FILENAME ~ /\/c$/ {c = $4} FNR == 1 && FILENAME ~ /\/b$/ {b = $4}
  END {printf "| collector / bare SQLite | | %.2fx | |\n", c / b}' "$idir/c" "$idir/b"
echo "| database file after shutdown (WAL checkpointed), per event | $(( $(stat -c %s "$idir/ingest.db") / 1000000 )) bytes | | |"
rm -rf "$idir"
# the same ingest while a client searches message and metadata text in a
# loop: search scans one trace's rows, so ingest should not notice
sdir=$(mktemp -d)
build/bin/trace-collector --listen 127.0.0.1:0 --ingest 'tcp://127.0.0.1:*' \
  --db "$sdir/s.db" --quiet >"$sdir/ready" 2>"$sdir/log" &
spid=$!
for _ in $(seq 100); do grep -q ready "$sdir/ready" 2>/dev/null && break; sleep 0.1; done
sep=$(sed -n 's/.*ingest=\(\S*\).*/\1/p' "$sdir/ready")
shttp=$(sed -n 's/.*http=\(\S*\).*/\1/p' "$sdir/ready")
( n=0; while [ ! -f "$sdir/stop" ]; do
    curl -s -o /dev/null "http://$shttp/api/traces/bench-0000$((n % 10))/events/search?q=step%201"; n=$((n + 1))
  done; echo "$n" >"$sdir/searches" ) &
spid2=$!
build/bin/bench-ingest collector "$sep" "$sdir/s.db" "$spid" | head -1 | sed 's/collector: ZeroMQ PUSH/collector, searched meanwhile: ZeroMQ PUSH/'
touch "$sdir/stop"; wait "$spid2" 2>/dev/null || true
echo "| searches answered meanwhile | $(cat "$sdir/searches") | | |"
kill -INT "$spid"; wait "$spid" 2>/dev/null || true
rm -rf "$sdir"
echo
echo "## trace_event() -> WebSocket client latency"
echo "| load | events | p50 | p99 | max |"
echo "|---|---|---:|---:|---:|"
node bench/latency.mjs 20000 5 2>/dev/null
node bench/latency.mjs 100000 5 2>/dev/null
echo
echo "## the example swarm: CPU with tracing against tracing compiled out"
bash bench/swarm_overhead.sh "$ingest"
echo
echo "## LTTng-UST 2.13, same measurement"
bash bench/lttng/run.sh | tee "$dir/lttng"
echo
echo "## ratio (libtrace p50 / LTTng p50, same payload)"
p50() { awk -F'|' -v k="$2" 'index($2, k) {gsub(/ /, "", $3); print $3; exit}' "$1"; }
for k in "two integers" "32-byte string"; do
  ours=$(p50 "$dir/ours" "sampled in, $k"); theirs=$(p50 "$dir/lttng" "sampled in, $k")
  [ -n "$ours" ] && [ -n "$theirs" ] && awk -v a="$ours" -v b="$theirs" -v k="$k" \
    'BEGIN {printf "| %-16s | %6.1f ns | %6.1f ns | %.2fx |\n", k, a, b, a / b}'
done
