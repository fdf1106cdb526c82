#!/usr/bin/env bash
# run.sh — run every libFuzzer target for FUZZ_SECONDS (default 60) each,
# starting from the seed corpus in fuzz/corpus/<target>/ (copied: what the
# fuzzer finds goes to build-fuzz/corpus/, never into the repository).
# Prints each target's executions and findings and one "N passed, M
# failed" line (test/run.sh counts it); exits 1 if any target crashed,
# with the crashing input in build-fuzz/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=build-fuzz
passed=0 failed=0 total=0
mkdir -p "$out/artifacts" "$out/logs"
for t in wire_decode rest_query ws_message; do
  work="$out/corpus/$t"
  mkdir -p "$work"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
  log="$out/logs/$t.log"
  # -rss_limit_mb: a decoder that allocates what a header claims must
  # still fit; -timeout: a hang is a finding too
  "$out/$t" "$work" "fuzz/corpus/$t" "${dict[@]}" -max_total_time="$secs" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
    -artifact_prefix="$out/artifacts/$t-" >"$log" 2>&1
  rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
  total=$((total + ${execs:-0}))
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $t: ${execs:-0} executions in ${secs} s, ${cov:-cov: ?}, no findings"
  else
    failed=$((failed + 1))
    echo "fuzz $t: FINDING after ${execs:-?} executions (exit $rc):"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
  fi
done
echo "fuzz total: $total executions"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
