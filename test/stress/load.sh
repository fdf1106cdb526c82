#!/usr/bin/env bash
# load.sh — the long load test (make stress): 1000 WebSocket clients
# held open for LOAD_SECONDS (default 300) of 10 000 events/s, one of
# them stalled; see test/e2e/load.test.mjs. Figures are appended, one
# JSON line per run, to build/stress/load.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/stress
# every connection is a descriptor here and in the collector
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
STRESS=1 LOAD_REPORT=build/stress/load.jsonl BUILD=${BUILD:-build} \
  node --test --test-reporter=spec test/e2e/load.test.mjs
