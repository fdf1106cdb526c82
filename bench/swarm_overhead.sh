#!/usr/bin/env bash
# swarm_overhead.sh — what tracing costs a whole swarm: CPU time of the
# example swarm traced (against the real collector at $1) next to the same
# swarm with tracing compiled out (-DTRACE_DISABLE), same seed, same
# length, runs alternated so drifting machine load hits both alike.
set -euo pipefail
ingest=$1
runs=${SWARM_RUNS:-3}
args=(--agents 8 --duration "${SWARM_SECONDS:-8}" --speed "${SWARM_SPEED:-20}" --seed 42 --quiet)
TIMEFORMAT='%U %S'
cpu() { # seconds of user+sys CPU of one run
  local t
  t=$( { time "$@" >/dev/null 2>/dev/null; } 2>&1 )
  awk '{printf "%.3f", $1 + $2}' <<<"$t"
}
traced=() untraced=()
for _ in $(seq "$runs"); do
  untraced+=("$(cpu build/bin/swarm-demo-notrace "${args[@]}")")
  traced+=("$(TRACE_COLLECTOR_URL=$ingest TRACE_SAMPLING_RATE=1 TRACE_ADAPTIVE=0 cpu build/bin/swarm-demo "${args[@]}")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(median "${traced[@]}") u=$(median "${untraced[@]}")
echo "| swarm (8 agents, ${SWARM_SECONDS:-8} s, speed ${SWARM_SPEED:-20}, every event kept) | CPU s, median of $runs |"
echo "|---|---:|"
echo "| tracing compiled out | $u |"
echo "| traced (libtrace, rate 1.0) | $t |"
awk -v t="$t" -v u="$u" 'BEGIN {printf "| overhead, relative to the swarm CPU | %.1f %% |\n", (t - u) / u * 100}'
# the same cost as a share of what the machine could do in that time
awk -v t="$t" -v u="$u" -v s="${SWARM_SECONDS:-8}" -v n="$(nproc)" \
  'BEGIN {printf "| overhead, share of the machine (%d cores x %d s) | %.2f %% |\n", n, s, (t - u) / (s * n) * 100}'
