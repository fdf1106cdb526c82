#!/usr/bin/env bash
# demo.sh — the real system on this machine: trace-collector on
# 127.0.0.1:8080 with an embedded SQLite file, the example swarm running
# against it round after round (each round a new trace, a new topology),
# and the URL to open. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD:-build}/bin
LISTEN=${DEMO_LISTEN:-127.0.0.1:8080}
INGEST=${DEMO_INGEST:-tcp://127.0.0.1:5555}
DB=${DEMO_DB:-traces.db}
log=$(mktemp -t trace-collector.XXXXXX.log)

collector_pid="" swarm_pid=""
stop() {
  trap - INT TERM
  echo
  echo "demo: stopping"
  [ -n "$swarm_pid" ] && kill -INT "$swarm_pid" 2>/dev/null && wait "$swarm_pid" 2>/dev/null || true
  [ -n "$collector_pid" ] && kill -INT "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null || true
  echo "demo: stopped; the traces stay in $DB"
  exit 0
}
trap stop INT TERM

# its own session: Ctrl-C in the terminal reaches the swarm, which sends its
# last events, and only then does stop() end the collector
coproc COLLECTOR { exec setsid "$BIN/trace-collector" --listen "$LISTEN" --ingest "$INGEST" \
    --db "$DB" --ui viz-ui/dist --quiet 2>"$log"; }
collector_pid=$COLLECTOR_PID
ready=""
read -r -t 10 ready <&"${COLLECTOR[0]}" || true
if [[ "$ready" != "trace-collector ready"* ]]; then
  echo "demo: trace-collector did not start:" >&2
  cat "$log" >&2
  exit 1
fi
http=${ready#*http=}; http=${http%% *}
echo "demo: $ready"
echo
echo "    Open http://$http/ in a browser to watch the swarm."
echo
echo "demo: collector log: $log; press Ctrl-C to stop"

topologies=(hierarchical mesh ring star)
round=0
while true; do
  topo=${topologies[$((round % 4))]}
  TRACE_COLLECTOR_URL=$INGEST TRACE_SAMPLING_RATE=1 TRACE_SESSION_ID=demo \
    "$BIN/swarm-demo" --agents 7 --duration 60 --topology "$topo" --quiet &
  swarm_pid=$!
  wait "$swarm_pid" || true
  swarm_pid=""
  round=$((round + 1))
done
