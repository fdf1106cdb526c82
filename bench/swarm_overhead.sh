#!/usr/bin/env bash
# swarm_overhead.sh — what tracing costs a whole swarm: CPU time of the
# example swarm traced (against the real collector at $1) next to the same
# swarm with tracing compiled out (-DTRACE_DISABLE), same seed, same
# length, runs alternated so drifting machine load hits both alike.
#
# Two swarms: the demo as it is, whose agents only wait (for simulated LLM
# calls and simulated tools) and so use almost no CPU of their own — any
# tracer is a large share of nearly nothing — and the same swarm with
# --tools-compute, whose tool steps do a fixed amount of real computation,
# as builds and test runs on the agent's machine do. Also the cost per
# event, all threads included, which holds whatever the swarm does.
# The swarm runs for a fixed time, and how many work steps it gets through
# depends on the machine, so CPU is compared per work step done (the
# swarm's own count, printed by both builds).
set -euo pipefail
ingest=$1
runs=${SWARM_RUNS:-3}
secs=${SWARM_SECONDS:-8} speed=${SWARM_SPEED:-20}
TIMEFORMAT='%U %S'
cpu() { # seconds of user+sys CPU of one run; the run's last line to $out
  local t
  t=$( { time "$@" >"$out" 2>/dev/null; } 2>&1 )
  awk '{printf "%.3f", $1 + $2}' <<<"$t"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

measure() { # label, extra swarm options...
  local label=$1; shift
  local args=(--agents 8 --duration "$secs" --speed "$speed" --seed 42 --quiet "$@")
  local traced=() untraced=() events=()
  for _ in $(seq "$runs"); do
    # CPU seconds per 1000 steps, each build
    c=$(cpu build/bin/swarm-demo-notrace "${args[@]}")
    untraced+=("$(awk -v c="$c" -v w="$(steps)" 'BEGIN {printf "%.5f", c / w * 1000}')")
    c=$(TRACE_COLLECTOR_URL=$ingest TRACE_SAMPLING_RATE=1 TRACE_ADAPTIVE=0 cpu build/bin/swarm-demo "${args[@]}")
    traced+=("$(awk -v c="$c" -v w="$(steps)" 'BEGIN {printf "%.5f", c / w * 1000}')")
    # events per 1000 steps
    events+=("$(awk -v e="$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$out")" -v w="$(steps)" 'BEGIN {printf "%.1f", e / w * 1000}')")
  done
  local t u e
  t=$(median "${traced[@]}") u=$(median "${untraced[@]}") e=$(median "${events[@]}")
  awk -v l="$label" -v t="$t" -v u="$u" -v e="$e" 'BEGIN {
    printf "| %s | %.4f | %.4f | %.0f | %.1f %% | %.2f |\n", l, u, t, e,
      (t - u) / u * 100, (t - u) / e * 1e6 }'
}
steps() { sed -n 's/.* steps=\([0-9]*\).*/\1/p' "$out"; }

echo "| swarm (8 agents, $secs s, speed $speed, every event kept; median of $runs) | CPU s per 1000 steps, compiled out | traced | events per 1000 steps | overhead vs swarm CPU | µs CPU per event |"
echo "|---|---:|---:|---:|---:|---:|"
measure "demo as is: agents wait, tools sleep"
measure "tools compute (--tools-compute)" --tools-compute
