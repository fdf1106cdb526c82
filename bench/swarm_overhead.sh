#!/usr/bin/env bash
# swarm_overhead.sh — what tracing costs a whole swarm: CPU time of the
# example swarm traced (against the real collector at $1) next to the same
# swarm with tracing compiled out (-DTRACE_DISABLE), same seed, same
# length.
#
# Two swarms: the demo as it is, whose agents only wait (for simulated LLM
# calls and simulated tools) and so use almost no CPU of their own — any
# tracer is a large share of nearly nothing — and the same swarm with
# --tools-compute, whose tool steps do a fixed amount of real computation,
# as builds and test runs on the agent's machine do. Also the cost per
# event, all threads included, which holds whatever the swarm does.
# The swarm runs for a fixed time, and how much work it gets through
# depends on the machine, so CPU is compared per unit of work done (the
# swarm's own counts, printed by both builds): per 1000 steps for the demo
# as is, and per second of tool computation for --tools-compute.
#
# The traced and the compiled-out swarm run at the same time, side by side.
# One after the other, on this shared 2-core VM, the same compiled-out
# swarm took 2-5 % more or less CPU for the same computation from one run
# to the next (the host's speed drifts over seconds to minutes), which
# swamped a difference of 1 %; run together, both see the same host, and
# the drift cancels in their ratio. Each round is one such pair, the one
# started first alternating; the table gives the median of the rounds'
# ratios and their range. Rounds of two compiled-out swarms side by side
# (A/A) show what is left of the noise: a traced-vs-untraced difference
# within it is not a difference.
#
# The swarm also accounts its CPU itself, in both builds (its last line):
# its agents' threads, and libtrace's and ZeroMQ's threads, which do
# nothing but tracing. The difference splits into those threads (precise),
# the agents' threads (the record calls: ~15 ns for trace_event(), up to
# ~0.5 µs for a hook that builds JSON or checksums a snapshot; measured
# with the noise of the whole), and the rest of the process: its main
# thread, which for the traced swarm loads libtrace and ZeroMQ, connects
# and at the end sends the last batch — a one-time cost, a share of a
# run that shrinks as the run gets longer.
set -euo pipefail
ingest=$1
rounds=${SWARM_RUNS:-6}
aa_rounds=${SWARM_AA_RUNS:-3}
secs=${SWARM_SECONDS:-12} speed=${SWARM_SPEED:-20}
# shellcheck source=bench/stats.sh
. "$(dirname "$0")/stats.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# start NAME CMD...: one swarm in the background; its user+sys CPU seconds
# go to $dir/NAME.cpu, its last line to $dir/NAME.out
start() {
  local name=$1; shift
  (
    TIMEFORMAT='%U %S'
    { time "$@" >"$dir/$name.out" 2>/dev/null; } 2>"$dir/$name.tm"
    awk '{printf "%.4f", $1 + $2}' "$dir/$name.tm" >"$dir/$name.cpu"
  ) &
}
field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$dir/$1.out"; }
# per_unit NAME X: X per $per of the unit of work the run NAME did
per_unit() { awk -v x="$2" -v w="$(field "$1" "$unit")" -v per="$per" 'BEGIN {printf "%.6f", x / w * per}'; }
cpu_per_unit() { per_unit "$1" "$(cat "$dir/$1.cpu")"; }

# pair ROUND NAME_A CMD_A... -- NAME_B CMD_B...: both at once, the first
# started alternating with the round; returns when both have ended
pair() {
  local round=$1 a=() b=(); shift
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  if ((round % 2)); then start "${a[@]}"; start "${b[@]}"; else start "${b[@]}"; start "${a[@]}"; fi
  wait
}

measure() { # label, unit of work (a field of the last line), per how many, extra swarm options...
  local label=$1 unit=$2 per=$3; shift 3
  local args=(--agents 8 --duration "$secs" --speed "$speed" --seed 42 --quiet "$@")
  local traced_env=(env TRACE_COLLECTOR_URL="$ingest" TRACE_SAMPLING_RATE=1 TRACE_ADAPTIVE=0)
  local over=() aa=() t_cpu=() u_cpu=() agents=() threads=() rest=() per_event=() events=()
  local r t u o ag th re
  for r in $(seq "$rounds"); do
    pair "$r" t "${traced_env[@]}" build/bin/swarm-demo "${args[@]}" \
      -- u build/bin/swarm-demo-notrace "${args[@]}"
    t=$(cpu_per_unit t) u=$(cpu_per_unit u)
    # the traced swarm's extra CPU, and its three parts, as percentages of
    # the compiled-out swarm's CPU per unit of work
    read -r o ag th re < <(awk -v t="$t" -v u="$u" \
      -v ta="$(per_unit t "$(field t agent_cpu_us)e-6")" -v ua="$(per_unit u "$(field u agent_cpu_us)e-6")" \
      -v th="$(per_unit t "$(field t tracing_cpu_us)e-6")" 'BEGIN {
      printf "%.3f %.3f %.3f %.3f\n", (t - u) / u * 100, (ta - ua) / u * 100, th / u * 100,
        ((t - ta - th) - (u - ua)) / u * 100 }')
    t_cpu+=("$t") u_cpu+=("$u") over+=("$o") agents+=("$ag") threads+=("$th") rest+=("$re")
    per_event+=("$(awk -v c="$(field t tracing_cpu_us)" -v n="$(field t sent)" 'BEGIN {printf "%.3f", c / n}')")
    events+=("$(per_unit t "$(field t sent)")")
  done
  for r in $(seq "$aa_rounds"); do
    pair "$r" a build/bin/swarm-demo-notrace "${args[@]}" -- b build/bin/swarm-demo-notrace "${args[@]}"
    aa+=("$(awk -v a="$(cpu_per_unit a)" -v b="$(cpu_per_unit b)" 'BEGIN {d = (a - b) / b * 100; printf "%.3f", d < 0 ? -d : d}')")
  done
  awk -v l="$label" -v u="$(median "${u_cpu[@]}")" -v t="$(median "${t_cpu[@]}")" \
    -v o="$(median "${over[@]}")" -v lo="$(smallest "${over[@]}")" -v hi="$(largest "${over[@]}")" \
    -v aa="$(median "${aa[@]}")" -v aamax="$(largest "${aa[@]}")" \
    -v ag="$(median "${agents[@]}")" -v th="$(median "${threads[@]}")" -v re="$(median "${rest[@]}")" \
    -v pe="$(median "${per_event[@]}")" -v ev="$(median "${events[@]}")" 'BEGIN {
    printf "| %s | %.4f | %.4f | **%+.2f %%** | %+.2f to %+.2f %% | %.2f %% (max %.2f) | %+.2f %% | %.2f %% | %+.2f %% | %.2f | %.0f |\n",
      l, u, t, o, lo, hi, aa, aamax, ag, th, re, pe, ev }'
}

echo "| swarm (8 agents, $secs s, speed $speed, every event kept; traced and compiled out side by side, $rounds rounds) | CPU s per unit of work, compiled out | traced | overhead, whole process (median of rounds) | range of rounds | A/A: two compiled-out swarms side by side differ by ($aa_rounds rounds) | of which agents' threads | tracing threads | rest of the process (main thread: start-up, last batch) | tracing threads' µs per event | events per unit |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
measure "demo as is: agents wait, tools sleep (unit: 1000 steps)" steps 1000
measure "tools compute (--tools-compute; unit: 1 s of tool computation)" compute_us 1000000 --tools-compute
