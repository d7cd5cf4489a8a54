#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test of the project, host and VM, from a fresh clone.
#
#  1. install what is missing (scripts/deps.sh), build or reuse the test kernel;
#  2. build simrupt.ko (warnings fail), the guest test program, the broken module;
#  3. host tests: the log scanner's self-test, fast_buf's test suite;
#  4. VM suites, one boot each: pipeline, measure, faults, robust, stress,
#     scanner (self-test);
#     every boot's console log is scanned for WARNING/BUG/oops/lockdep/kmemleak.
#
# Each check prints "ok NAME", "FAIL NAME: why" or "SKIP NAME: why"; the last
# line is "N passed, M failed[, K skipped]". Exit status 0 iff nothing failed.
# Logs are kept in $SIMRUPT_LOGS (default: a fresh directory under /tmp).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
logs=${SIMRUPT_LOGS:-$(mktemp -d /tmp/simrupt-check.XXXXXX)}
mkdir -p "$logs"
results=$logs/results
: > "$results"
start=$(date +%s)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
record() { # record LINE: print a result line and keep it for the summary
  echo "$1"; echo "$1" >> "$results"
}
# run_step NAME COMMAND...: a step that must succeed, output in $logs/NAME.log
run_step() {
  local name=$1; shift
  if "$@" > "$logs/$name.log" 2>&1; then
    record "ok $name"
  else
    record "FAIL $name: exit $?, see $logs/$name.log"; tail -n 25 "$logs/$name.log"
    return 1
  fi
}
# collect: pass through a suite's own ok/FAIL/SKIP lines, recording them
collect() { grep --line-buffered -E '^(ok|FAIL|SKIP) ' | while IFS= read -r l; do record "$l"; done; }
summary() {
  local p f s
  p=$(grep -c '^ok ' "$results"); f=$(grep -c '^FAIL ' "$results"); s=$(grep -c '^SKIP ' "$results")
  say "summary ($(( $(date +%s) - start )) s, logs in $logs)"
  grep -E '^(FAIL|SKIP) ' "$results" || true
  if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
  [ "$f" -eq 0 ]
}

say "dependencies"
scripts/deps.sh || { record "FAIL deps: scripts/deps.sh failed"; summary; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

say "test kernel (built once, then cached)"
kdir=$(scripts/build-kernel.sh | tail -n 1)
if [ ! -f "$kdir/arch/x86/boot/bzImage" ]; then record "FAIL kernel: build failed"; summary; exit 1; fi
record "ok kernel"

say "build"
RUSTC=/usr/bin/rustc
# Built through clippy-driver with the kernel's own lint set: any warning fails.
if run_step build-module make -s KDIR="$kdir" RUSTC=$RUSTC CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver; then
  if grep -E 'warning|error' "$logs/build-module.log"; then
    record "FAIL build-module-warnings: see $logs/build-module.log"
  else
    record "ok build-module-warnings"
  fi
fi
run_step build-guest-tests gcc -static -O2 -Wall -Wextra -Werror \
  -o tests/guest/simrupt_test tests/guest/simrupt_test.c
run_step build-broken-module make -C "$kdir" M="$here/tests/broken" RUSTC=$RUSTC modules

say "host tests"
if rustfmt --check --edition 2021 simrupt.rs tests/broken/simrupt_broken.rs tests/histogram/lib.rs > "$logs/rustfmt.log" 2>&1; then
  record "ok rustfmt"
else
  record "FAIL rustfmt: run 'rustfmt --edition 2021 simrupt.rs' (see $logs/rustfmt.log)"
fi
tests/scan-log-selftest.sh | collect
# histogram.rs, the module's own file, compiled and tested on the host.
if (cd tests/histogram && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/simrupt/cargo-target} \
      cargo test --locked) > "$logs/histogram.log" 2>&1; then
  record "ok histogram-unit ($(grep -o '[0-9]* passed' "$logs/histogram.log" | head -n 1))"
else
  record "FAIL histogram-unit: see $logs/histogram.log"; tail -n 20 "$logs/histogram.log"
fi
# The record/reset/render stress test and the repair of any raw state under
# Miri (data races, UB), when rustup's nightly with Miri is there.
if command -v rustup > /dev/null && rustup run nightly cargo miri --version > /dev/null 2>&1; then
  if (cd tests/histogram && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/simrupt/cargo-target} \
        CARGO_PROFILE_TEST_OPT_LEVEL=0 cargo +nightly miri test --locked --lib -- \
        stress_record_reset_render from_raw) > "$logs/histogram-miri.log" 2>&1; then
    record "ok histogram-miri"
  else
    record "FAIL histogram-miri: see $logs/histogram-miri.log"; tail -n 20 "$logs/histogram-miri.log"
  fi
else
  record "SKIP histogram-miri: no rustup nightly toolchain with the miri component"
fi
if [ -x tests/fastbuf/run.sh ]; then
  tests/fastbuf/run.sh 2>&1 | tee "$logs/fastbuf.log" | collect
else
  record "FAIL fastbuf: tests/fastbuf/run.sh missing"
fi

# vm_suite NAME [FILE...]: boot, run tests/guest/NAME.sh, scan the log.
vm_suite() {
  local name=$1; shift
  local scan_opts=()
  case $name in faults | robust) scan_opts=(--allow-alloc-failures) ;; esac
  say "VM: $name"
  local log=$logs/vm-$name.log rc
  scripts/vm.sh --kdir "$kdir" --log "$log" --timeout 1200 \
    "tests/guest/$name.sh" tests/guest/lib.sh "$@" | tee "$logs/lines-$name" | collect
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && ! grep -q "^FAIL " "$logs/lines-$name"; then
    record "FAIL vm-$name: guest exited $rc, see $log"
  fi
  if [ "$rc" -eq 125 ]; then record "FAIL vm-$name-boot: no verdict (hang or crash), see $log"; fi
  scan_rc=0; tests/scan-log.sh "${scan_opts[@]}" "$log" > "$logs/scan-$name.txt" || scan_rc=$?
}

if [ -f simrupt.ko ]; then
  vm_suite pipeline
  if [ "$scan_rc" -eq 0 ]; then record "ok logscan-pipeline"; else
    record "FAIL logscan-pipeline: $(head -n 3 "$logs/scan-pipeline.txt" | tr '\n' ' ')"; cat "$logs/scan-pipeline.txt"; fi
  vm_suite measure
  if [ "$scan_rc" -eq 0 ]; then record "ok logscan-measure"; else
    record "FAIL logscan-measure: $(head -n 3 "$logs/scan-measure.txt" | tr '\n' ' ')"; cat "$logs/scan-measure.txt"; fi
  vm_suite faults
  if [ "$scan_rc" -eq 0 ]; then record "ok logscan-faults"; else
    record "FAIL logscan-faults: $(head -n 3 "$logs/scan-faults.txt" | tr '\n' ' ')"; cat "$logs/scan-faults.txt"; fi
  # Issue 8: parameter parsing, run-time fault injection; races, fill, soak.
  for suite in robust stress; do
    vm_suite $suite
    if [ "$scan_rc" -eq 0 ]; then record "ok logscan-$suite"; else
      record "FAIL logscan-$suite: $(head -n 3 "$logs/scan-$suite.txt" | tr '\n' ' ')"; cat "$logs/scan-$suite.txt"; fi
  done
fi
if [ -f tests/broken/simrupt_broken.ko ]; then
  vm_suite scanner tests/broken/simrupt_broken.ko
  # Here the scanner must find problems: both the leak and the atomic sleep.
  for cat in leak atomic-sleep; do
    if grep -q "^$cat: " "$logs/scan-scanner.txt"; then record "ok scanner-vm-catches-$cat"
    else record "FAIL scanner-vm-catches-$cat: tests/scan-log.sh missed it in $logs/vm-scanner.log"; fi
  done
fi

summary
