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
#
# The difference of two whole-process CPU times is noisy on a shared
# 2-core VM (±3 % on the computing swarm, run to run), too noisy to tell
# 0.5 % from 1.5 %. So each traced run is also accounted per thread: a
# poller outside the timed process reads /proc/PID/task/*/schedstat every
# 50 ms and keeps the last CPU time of libtrace's own threads
# (trace-flusher, and ZeroMQ's ZMQbg/IO/0 and ZMQbg/Reaper), which do
# nothing but tracing. Their CPU per 1000 steps, as a share of the untraced
# swarm's, is the "tracing threads" column: a precise floor of the
# overhead. What it leaves out runs on the agents' own threads: the record
# calls (about 18 ns for trace_event(), up to ~0.5 µs for a hook that
# builds JSON or checksums a snapshot) and whatever the extra threads'
# wake-ups cost the agents in scheduling; only the noisy whole-process
# difference shows those. The last 50 ms of the threads' lives (the final
# batch) are missed.
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
out=$(mktemp) pidf=$(mktemp) thr=$(mktemp)
trap 'rm -f "$out" "$pidf" "$thr"' EXIT
# threads_cpu: in the background, the CPU seconds of libtrace's threads in
# the process whose pid appears in $pidf, to $thr once it has exited
threads_cpu() {
  local pid t c n total=0
  declare -A last=()
  until [ -s "$pidf" ]; do sleep 0.01; done
  pid=$(<"$pidf")
  while [ -d "/proc/$pid/task" ] && [ -n "$(ls "/proc/$pid/task" 2>/dev/null)" ]; do
    for t in /proc/"$pid"/task/*; do
      { read -r c <"$t/comm" && read -r n _ <"$t/schedstat"; } 2>/dev/null || continue
      case $c in trace-flusher|ZMQbg/*) last[${t##*/}]=$n ;; esac
    done
    sleep 0.05
  done
  for n in "${last[@]}"; do total=$((total + n)); done
  awk -v n="$total" 'BEGIN {printf "%.4f", n / 1e9}' >"$thr"
}
# traced_cpu: cpu(), and the threads' CPU seconds in $thr
traced_cpu() {
  : >"$pidf"; : >"$thr"
  threads_cpu &
  local poller=$! c
  c=$(cpu sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@")
  wait "$poller"
  echo "$c"
}

measure() { # label, extra swarm options...
  local label=$1; shift
  local args=(--agents 8 --duration "$secs" --speed "$speed" --seed 42 --quiet "$@")
  local traced=() untraced=() events=() threads=()
  for _ in $(seq "$runs"); do
    # CPU seconds per 1000 steps, each build
    c=$(cpu build/bin/swarm-demo-notrace "${args[@]}")
    untraced+=("$(awk -v c="$c" -v w="$(steps)" 'BEGIN {printf "%.5f", c / w * 1000}')")
    c=$(TRACE_COLLECTOR_URL=$ingest TRACE_SAMPLING_RATE=1 TRACE_ADAPTIVE=0 traced_cpu build/bin/swarm-demo "${args[@]}")
    traced+=("$(awk -v c="$c" -v w="$(steps)" 'BEGIN {printf "%.5f", c / w * 1000}')")
    threads+=("$(awk -v c="$(<"$thr")" -v w="$(steps)" 'BEGIN {printf "%.6f", c / w * 1000}')")
    # events per 1000 steps
    events+=("$(awk -v e="$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$out")" -v w="$(steps)" 'BEGIN {printf "%.1f", e / w * 1000}')")
  done
  local t u e h
  t=$(median "${traced[@]}") u=$(median "${untraced[@]}") e=$(median "${events[@]}")
  h=$(median "${threads[@]}")
  awk -v l="$label" -v t="$t" -v u="$u" -v e="$e" -v h="$h" 'BEGIN {
    printf "| %s | %.4f | %.4f | %.0f | %.1f %% | %.2f | %.5f | %.2f %% | %.2f |\n", l, u, t, e,
      (t - u) / u * 100, (t - u) / e * 1e6, h, h / u * 100, h / e * 1e6 }'
}
steps() { sed -n 's/.* steps=\([0-9]*\).*/\1/p' "$out"; }

echo "| swarm (8 agents, $secs s, speed $speed, every event kept; median of $runs) | CPU s per 1000 steps, compiled out | traced | events per 1000 steps | overhead vs swarm CPU | µs CPU per event | tracing threads: CPU s per 1000 steps | their share of the swarm's CPU | their µs per event |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
measure "demo as is: agents wait, tools sleep"
measure "tools compute (--tools-compute)" --tools-compute
