#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test of the project, host and VM, from a fresh clone.
#
#  1. install what is missing (scripts/deps.sh), build or reuse the test kernel;
#  2. build simrupt.ko (warnings fail), the guest test program, the broken module;
#  3. host tests (tests/host.sh): rustfmt, the log scanner's self-test,
#     histogram.rs and fast_buf, with Debian's toolchain;
#  4. VM suites, one boot each: pipeline, measure, faults, scanner (self-test);
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
# rustfmt, the log scanner's self-test, histogram.rs and fast_buf on the host.
tests/host.sh "$logs" | collect

# vm_suite NAME [FILE...]: boot, run tests/guest/NAME.sh, scan the log.
vm_suite() {
  local name=$1; shift
  local scan_opts=()
  if [ "$name" = faults ]; then scan_opts=(--allow-alloc-failures); fi
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
