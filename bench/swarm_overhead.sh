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
# The swarm runs for a fixed time, and how much work it gets through
# depends on the machine, so CPU is compared per unit of work done (the
# swarm's own counts, printed by both builds): per 1000 steps for the demo
# as is, and per second of tool computation for --tools-compute. Steps
# differ (a tool step computes for 50-250 ms, an LLM step only waits), so
# CPU per step moved with the mix of steps a run happened to get, by a few
# per cent; the computation done is what the CPU is spent on.
#
# The difference of two whole-process CPU times is still noisy on a shared
# 2-core VM: the same compiled-out swarm, per second of the same
# computation, takes 2-5 % more or less CPU from one run to the next (the
# host's speed drifts; measured 2026-11-28). So each round runs the
# compiled-out swarm twice (before and after the traced one), and the
# table shows how far those two differ (A/A): a traced-vs-untraced
# difference smaller than that is noise. The swarm also accounts its CPU
# itself, in both builds (its last line): its agents' threads, and
# libtrace's and ZeroMQ's threads, which do nothing but tracing. Their CPU
# per unit of work, as a share of the untraced swarm's, is "tracing
# threads": precise, and the floor of the overhead. What it leaves out runs
# on the agents' threads (the record calls: ~18 ns for trace_event(), up
# to ~0.5 µs for a hook that builds JSON or checksums a snapshot), which
# only the agent-thread columns can show, with the same noise as the whole.
# (An earlier version polled /proc from a shell loop during traced runs
# only; that loop's own CPU slowed the traced swarm it measured.)
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
# shellcheck source=bench/stats.sh
. "$(dirname "$0")/stats.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$out"; }
# x per unit of work: per $per of the count $unit the last run printed
per_unit() { awk -v x="$1" -v w="$(field "$unit")" -v per="$per" 'BEGIN {printf "%.6f", x / w * per}'; }

measure() { # label, unit of work (a field of the last line), per how many, extra swarm options...
  local label=$1 unit=$2 per=$3; shift 3
  local args=(--agents 8 --duration "$secs" --speed "$speed" --seed 42 --quiet "$@")
  local traced=() untraced=() aa=() events=() agents_u=() agents_t=() threads=()
  local c u1
  for _ in $(seq "$runs"); do
    # CPU seconds per unit of work: compiled out, traced, compiled out again
    c=$(cpu build/bin/swarm-demo-notrace "${args[@]}")
    u1=$(per_unit "$c")
    agents_u+=("$(per_unit "$(field agent_cpu_us)e-6")")
    c=$(TRACE_COLLECTOR_URL=$ingest TRACE_SAMPLING_RATE=1 TRACE_ADAPTIVE=0 cpu build/bin/swarm-demo "${args[@]}")
    traced+=("$(per_unit "$c")")
    agents_t+=("$(per_unit "$(field agent_cpu_us)e-6")")
    threads+=("$(per_unit "$(field tracing_cpu_us)e-6")")
    events+=("$(per_unit "$(field sent)")")
    c=$(cpu build/bin/swarm-demo-notrace "${args[@]}")
    u2=$(per_unit "$c")
    agents_u+=("$(per_unit "$(field agent_cpu_us)e-6")")
    untraced+=("$(awk -v a="$u1" -v b="$u2" 'BEGIN {printf "%.6f", (a + b) / 2}')")
    aa+=("$(awk -v a="$u1" -v b="$u2" 'BEGIN {d = (a - b) / ((a + b) / 2) * 100; printf "%.2f", d < 0 ? -d : d}')")
  done
  local t u e h au at n
  t=$(median "${traced[@]}") u=$(median "${untraced[@]}") e=$(median "${events[@]}")
  h=$(median "${threads[@]}") au=$(median "${agents_u[@]}") at=$(median "${agents_t[@]}")
  n=$(median "${aa[@]}")
  awk -v l="$label" -v t="$t" -v u="$u" -v e="$e" -v h="$h" -v au="$au" -v at="$at" -v n="$n" 'BEGIN {
    printf "| %s | %.4f | %.4f | %+.1f %% | %.1f %% | %.4f | %.4f | %.5f | %.2f %% | %.2f | %.0f |\n", l, u, t,
      (t - u) / u * 100, n, au, at, h, h / u * 100, h / e * 1e6, e }'
}

echo "| swarm (8 agents, $secs s, speed $speed, every event kept; medians of $runs rounds) | CPU s per unit of work, compiled out | traced | overhead, whole process | A/A: two compiled-out runs differ by | agents' threads, compiled out | agents' threads, traced | tracing threads | tracing threads' share of the swarm's CPU | their µs per event | events per unit |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
measure "demo as is: agents wait, tools sleep (unit: 1000 steps)" steps 1000
measure "tools compute (--tools-compute; unit: 1 s of tool computation)" compute_us 1000000 --tools-compute
