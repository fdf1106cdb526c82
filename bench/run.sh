#!/usr/bin/env bash
# run.sh — `make bench`: every benchmark in one run, each next to its
# anchor (libtrace's hot path beside LTTng-UST's, collector ingest beside a
# bare SQLite insert, the swarm traced beside the swarm compiled out),
# since only ratios from one run are comparable on a noisy VM. Each
# collector runs on free loopback ports with a throw-away database.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_CPU=${BENCH_CPU:-1} # both measured threads on the same vCPU
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

# collector_start NAME: a collector with database $dir/NAME.db; sets
# c_pid, c_ingest and c_http once it is ready
collector_start() {
  build/bin/trace-collector --listen 127.0.0.1:0 --ingest 'tcp://127.0.0.1:*' \
    --db "$dir/$1.db" --quiet >"$dir/$1.ready" 2>"$dir/$1.log" &
  c_pid=$!
  pids+=("$c_pid")
  for _ in $(seq 100); do grep -q ready "$dir/$1.ready" 2>/dev/null && break; sleep 0.1; done
  c_ingest=$(sed -n 's/.*ingest=\(\S*\).*/\1/p' "$dir/$1.ready")
  c_http=$(sed -n 's/.*http=\(\S*\).*/\1/p' "$dir/$1.ready")
}

# collector_stop PID: SIGINT, and wait for its commit and exit
collector_stop() { kill -INT "$1"; wait "$1" 2>/dev/null || true; }

collector_start bench
ingest=$c_ingest
echo "# bench: $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), measuring threads on CPU $BENCH_CPU"
echo
echo "## libtrace hot path (1 thread, ${BENCH_CALLS:-2000000} calls per case)"
TRACE_COLLECTOR_URL=$ingest build/bin/bench-hotpath "${BENCH_CALLS:-2000000}" | tee "$dir/ours"
echo
echo "## collector ingest: 10 000 traces x 100 events, next to bare SQLite"
collector_start ingest
echo "| what | rows | rows/s | |"
echo "|---|---:|---:|---|"
build/bin/bench-ingest collector "$c_ingest" "$dir/ingest.db" "$c_pid" | tee "$dir/c"
collector_stop "$c_pid"
build/bin/bench-ingest bare "$dir/bare.db" schema/schema.sql | tee "$dir/b"
awk -F'|' 'FNR == 1 && FILENAME ~ /\/c$/ {c = $4} FNR == 1 && FILENAME ~ /\/b$/ {b = $4}
  END {printf "| collector / bare SQLite | | %.2fx | |\n", c / b}' "$dir/c" "$dir/b"
echo "| database file after shutdown (WAL checkpointed), per event | $(( $(stat -c %s "$dir/ingest.db") / 1000000 )) bytes | | |"
# the same ingest while a viewer searches message and metadata text: search
# scans one trace's own rows and adds nothing to the write path, but on two
# cores its CPU is ingest's CPU. Three runs side by side: nobody
# searching, a viewer searching ten times a second, one back to back.
for rate in none 10 0; do
  collector_start "search-$rate"
  rm -f "$dir/stop"
  if [ "$rate" = none ]; then
    build/bin/bench-ingest collector "$c_ingest" "$dir/search-$rate.db" "$c_pid" | head -1 |
      sed "s/collector: ZeroMQ PUSH/collector, nobody searching: ZeroMQ PUSH/"
    collector_stop "$c_pid"
    continue
  fi
  node bench/searcher.mjs "$c_http" "$rate" "$dir/stop" >"$dir/searches" &
  searcher=$!
  sleep 1 # node's own start-up is not the search's cost
  label=$([ "$rate" = 0 ] && echo "back to back" || echo "$rate a second")
  build/bin/bench-ingest collector "$c_ingest" "$dir/search-$rate.db" "$c_pid" | head -1 |
    sed "s/collector: ZeroMQ PUSH/collector, a viewer searching $label: ZeroMQ PUSH/"
  touch "$dir/stop"; wait "$searcher" 2>/dev/null || true
  read -r n p50 <"$dir/searches"
  echo "| searches answered meanwhile ($label) | $n | | p50 $p50 ms |"
  collector_stop "$c_pid"
done
echo
echo "## trace_event() -> WebSocket client latency"
echo "| load | events | p50 | p99 | max | p99 incl. warm-up |"
echo "|---|---|---:|---:|---:|---:|"
# three runs each: on two shared cores one run's tail can be one stall
for _ in 1 2 3; do node bench/latency.mjs 20000 5 2>/dev/null; done
for _ in 1 2 3; do node bench/latency.mjs 100000 5 2>/dev/null; done
echo
echo "## UI: the timeline with 100 000 events in headless Chromium"
node bench/ui_bench.mjs 100000 3 2>/dev/null
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "## the example swarm: CPU with tracing against tracing compiled out"
bash bench/swarm_overhead.sh "$ingest"
echo
echo "## LTTng-UST 2.13, same measurement"
# then the two tracers alternated, pair by pair: the ratio to read
PAIR_OURS="env TRACE_COLLECTOR_URL=$ingest build/bin/bench-hotpath" bash bench/lttng/run.sh | tee "$dir/lttng"
echo
echo "## ratio of the two tables above (measured minutes apart: read the alternated pairs)"
p50() { awk -F'|' -v k="$2" 'index($2, k) {gsub(/ /, "", $3); print $3; exit}' "$1"; }
for k in "two integers" "32-byte string"; do
  ours=$(p50 "$dir/ours" "sampled in, $k"); theirs=$(p50 "$dir/lttng" "sampled in, $k")
  [ -n "$ours" ] && [ -n "$theirs" ] && awk -v a="$ours" -v b="$theirs" -v k="$k" \
    'BEGIN {printf "| %-16s | %6.1f ns | %6.1f ns | %.2fx |\n", k, a, b, a / b}'
done
