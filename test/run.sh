#!/usr/bin/env bash
# run.sh — every test, in order: C unit tests (plain and ASan+UBSan, the
# threaded ring under TSan), the UI's Vitest suite, then the end-to-end
# tests against real processes (collector and swarm built with ASan+UBSan)
# and in headless Chromium. Prints one total line and fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0
results=()

record() { # name, exit status, output
  local name=$1 status=$2 out=$3
  local p f counted
  # node --test: "ℹ pass N" / "ℹ fail N"; vitest: "Tests  N passed"; ours: "N passed, M failed"
  if grep -q '^ℹ pass' <<<"$out"; then
    counted=$(grep -E '^ℹ (pass|fail) ' <<<"$out" | sed -E 's/ℹ pass ([0-9]+)/\1 passed/; s/ℹ fail ([0-9]+)/\1 failed/')
  elif grep -qE '^ +Tests +' <<<"$out"; then
    counted=$(grep -E '^ +Tests +' <<<"$out")
  else
    counted=$out
  fi
  p=$(grep -Eo '([0-9]+) passed' <<<"$counted" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '([0-9]+) failed' <<<"$counted" | awk '{s+=$1} END {print s+0}')
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  results+=("$(printf '%-28s %5d passed %3d failed' "$name" "$p" "$f")")
}

run() { # name, command...
  local name=$1; shift
  echo "=== $name"
  local out status
  out=$("$@" 2>&1); status=$?
  printf '%s\n' "$out" | tail -n 40
  record "$name" "$status" "$out"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/test/lsan.supp:print_suppressions=0

for build in build build-asan; do
  for t in "$build"/test/*; do
    [ -x "$t" ] && run "unit $(basename "$t") ($build)" "$t"
  done
done
# ThreadSanitizer: the SPSC ring, the library's producer/flusher and crash
# handler/flusher threads end to end (libzmq is not instrumented: see test/tsan.supp)
export TSAN_OPTIONS="suppressions=$PWD/test/tsan.supp halt_on_error=1 die_after_fork=0"
for t in ring format sampling threads overhead libtrace_api crash; do
  run "unit $t (tsan)" "build-tsan/test/$t"
done

# libFuzzer, a short pass per target (make fuzz runs them longer)
run "fuzz (15 s per target)" env FUZZ_SECONDS=15 bash fuzz/run.sh

run "make install + pkg-config" bash test/install.sh
run "ui vitest" bash -c 'cd viz-ui && npx vitest run'

run "e2e pipeline (asan)" env BUILD=build-asan node --test --test-reporter=spec test/e2e/pipeline.test.mjs
run "e2e rest (asan)" env BUILD=build-asan node --test --test-reporter=spec test/e2e/rest.test.mjs
run "e2e stream (asan)" env BUILD=build-asan node --test --test-reporter=spec test/e2e/stream.test.mjs
# the stream's fan-out and sender pool are the collector's most threaded part
run "e2e stream (tsan)" env BUILD=build-tsan node --test --test-reporter=spec test/e2e/stream.test.mjs
run "e2e hostile (asan)" env BUILD=build-asan node --test --test-reporter=spec test/e2e/hostile.test.mjs
# 1000 connections: as many descriptors as the hard limit allows
run "e2e load (quick)" bash -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; BUILD=build exec node --test --test-reporter=spec test/e2e/load.test.mjs'
# quick versions of the fault runs (the long ones: make stress)
run "e2e faults (asan)" env BUILD=build-asan node --test --test-reporter=spec test/e2e/faults.test.mjs
run "e2e browser" env BUILD=build node --test --test-reporter=spec test/e2e/browser.test.mjs
run "e2e ui views" env BUILD=build node --test --test-reporter=spec test/e2e/ui_views.test.mjs
run "e2e ui timeline" env BUILD=build node --test --test-reporter=spec test/e2e/ui_timeline.test.mjs

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
