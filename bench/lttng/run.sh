#!/usr/bin/env bash
# run.sh — the LTTng-UST 2.13 anchor for bench/hotpath.c: same measurement
# (ns per call, batches of 64, p50/p99) for lttng_ust_tracepoint(), so our
# trace_event() numbers can be read next to a mature tracer on this machine.
# Installs the Debian packages if missing, builds into build/bench-lttng/,
# runs a private lttng-sessiond (no kernel tracer), one recording session
# per sampled-in case (so the discarded count is per case), checks with
# babeltrace2 that the events really reached the trace, then the disabled
# case with no session. Everything it starts is stopped; temp dirs removed.
#
# With PAIR_OURS set (the command that prints one of libtrace's sampled-in
# rows: bench-hotpath CALLS ints|string), it then alternates the two
# tracers PAIR_ROUNDS times per payload and prints the ratio of each pair:
# this VM's speed drifts by up to 2x over minutes, so two tables measured
# ten minutes apart can disagree by more than the tracers do.
#
# Env: BENCH_CALLS (default 2000000), LTTNG_SUBBUF (4M), LTTNG_NUM_SUBBUF (8),
#      BENCH_CPU (pin the bench with taskset; unset = not pinned, as hotpath),
#      PAIR_OURS, PAIR_ROUNDS (5), PAIR_CALLS (BENCH_CALLS).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../build/bench-lttng
calls=${BENCH_CALLS:-2000000}
subbuf=${LTTNG_SUBBUF:-4M} nsub=${LTTNG_NUM_SUBBUF:-8}
pin=()
[ -n "${BENCH_CPU:-}" ] && pin=(taskset -c "$BENCH_CPU")

missing=()
for p in liblttng-ust-dev lttng-tools babeltrace2; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

mkdir -p "$out"
cflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$here")
gcc "${cflags[@]}" -c "$here/tp.c" -o "$out/tp.o"
gcc "${cflags[@]}" "$here/bench_lttng.c" "$out/tp.o" -o "$out/bench-lttng" \
  -llttng-ust -ldl

tmp=$(mktemp -d)
export LTTNG_HOME=$tmp   # keeps the client's .lttngrc out of $HOME
sessiond=
session=
cleanup() {
  if [ -n "$session" ]; then lttng destroy "$session" >/dev/null 2>&1 || true; fi
  if [ -n "$sessiond" ]; then   # our own child: kill it and reap it
    kill -TERM "$sessiond" 2>/dev/null || true
    wait "$sessiond" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Not --daemonize: a daemonized sessiond is re-parented to PID 1, which
# does not reap it here (it stays <defunct>); as our child we can wait.
if ! lttng list >/dev/null 2>&1; then
  lttng-sessiond --no-kernel >"$tmp/sessiond.log" 2>&1 &
  sessiond=$!
  for _ in $(seq 100); do lttng list >/dev/null 2>&1 && break; sleep 0.1; done
  lttng list >/dev/null 2>&1 || { cat "$tmp/sessiond.log" >&2; exit 1; }
fi

notes=()
session_start() {   # $1 = bench case, $2 = event name
  session=swarm-bench-$$-$1
  lttng create "$session" --output="$tmp/trace-$1" >/dev/null
  lttng enable-channel -u -s "$session" --discard --subbuf-size="$subbuf" \
    --num-subbuf="$nsub" ch >/dev/null
  lttng enable-event -u -s "$session" -c ch "swarm_bench:$2" >/dev/null
  lttng start "$session" >/dev/null
}
session_end() {
  lttng destroy "$session" >/dev/null
  session=
  rm -rf "$tmp/trace-$1"
}
sampled() {   # $1 = bench case, $2 = event name
  session_start "$1" "$2"
  local row lost n
  row=$("${pin[@]}" "$out/bench-lttng" "$calls" "$1")
  lttng stop "$session" >/dev/null 2>&1
  lost=$(lttng list "$session" | sed -n 's/^ *Discarded events: *//p' | head -1)
  n=$(babeltrace2 "$tmp/trace-$1" -c sink.utils.counter 2>/dev/null |
      awk '/Event messages/ { n = $1 } END { print n + 0 }')
  session_end "$1"
  printf '%s| %10s |\n' "${row%|*|}" "${lost:-n/a}"   # fill the lost column
  notes+=("swarm_bench:$2 recorded in trace (babeltrace2): $n of $((calls / 64 * 64)) calls")
}

echo "## LTTng-UST $(dpkg-query -W -f='${Version}' liblttng-ust-dev) hot path (1 thread)"
echo
echo "Channel: per-user buffers, discard mode, $nsub x $subbuf sub-buffers per CPU."
echo
echo "| case | p50 ns/call | p99 ns/call | discarded |"
echo "|---|---:|---:|---:|"
sampled ints two_ints
sampled string str32
"${pin[@]}" "$out/bench-lttng" "$calls" disabled
echo
printf -- '- %s\n' "${notes[@]}"

[ -n "${PAIR_OURS:-}" ] || exit 0
rounds=${PAIR_ROUNDS:-5} pcalls=${PAIR_CALLS:-$calls}
p50() { awk -F'|' '{gsub(/ /, "", $3); print $3; exit}'; }
# shellcheck source=bench/stats.sh
. "$here/../stats.sh"
echo
echo "## libtrace / LTTng, alternated: $rounds pairs per payload, $pcalls calls each"
echo
echo "| payload | libtrace p50 (median) | LTTng p50 (median) | ratio, median of the pairs | pairs' ratios |"
echo "|---|---:|---:|---:|---|"
for c in "ints two_ints two integers" "string str32 32-byte string"; do
  read -r bench_case event label <<<"$c" # both benches name the case alike
  a=() b=() r=()
  for _ in $(seq "$rounds"); do
    x=$($PAIR_OURS "$pcalls" "$bench_case" | p50)
    session_start "$bench_case" "$event"
    y=$("${pin[@]}" "$out/bench-lttng" "$pcalls" "$bench_case" | p50)
    session_end "$bench_case"
    a+=("$x") b+=("$y") r+=("$(awk -v x="$x" -v y="$y" 'BEGIN {printf "%.2f", x / y}')")
  done
  printf '| %s | %s ns | %s ns | %sx | %s |\n' "$label" "$(median "${a[@]}")" "$(median "${b[@]}")" \
    "$(median "${r[@]}")" "${r[*]}"
done
