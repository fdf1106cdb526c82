#!/usr/bin/env bash
# run.sh — `make bench`: start a real collector on free loopback ports with
# a throw-away database, run each benchmark against it, print the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
build/bin/trace-collector --listen 127.0.0.1:0 --ingest 'tcp://127.0.0.1:*' \
  --db "$dir/bench.db" --quiet >"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q ready "$dir/ready" 2>/dev/null && break; sleep 0.1; done
ingest=$(sed -n 's/.*ingest=\(\S*\).*/\1/p' "$dir/ready")
echo "# bench on $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "## libtrace hot path (1 thread)"
TRACE_COLLECTOR_URL=$ingest build/bin/bench-hotpath "${BENCH_CALLS:-2000000}"
