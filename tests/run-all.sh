#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test of the project, host and VM, from a fresh clone.
#
#  1. install what is missing (scripts/deps.sh);
#  2. host tests, once (tests/host.sh, with Debian's toolchain): the guest
#     test program, rustfmt, the log scanner's and the timeline check's
#     self-tests, histogram.rs and fast_buf's test suites;
#  3. for each supported kernel (kernel/supported.sh; or only $KERNEL if set):
#     build or reuse the test kernel, build simrupt.ko (warnings and clippy
#     lints fail; tests/hot-path.sh: the top half's code stays on its page)
#     and the broken module against it, then the VM suites, one boot each:
#     pipeline, measure, faults, robust, stress, timeline, scanner
#     (self-test); every boot's console log is scanned for
#     WARNING/BUG/oops/lockdep/kmemleak; the timeline suite's ftrace traces are
#     checked by scripts/timeline.py; then kapi's checks (tests/kapi/run.sh:
#     misuses that must not compile, and the self-test build, booted as the
#     kapi suite); then the lessons, each run as `make lesson NAME=...` in a
#     real terminal (tmux): each must produce its report, or fail to
#     compile, and show it (scripts/lesson.sh); then make shell, driven
#     through a real terminal (tests/shell/run.sh);
#     The KASAN test kernel (6.12-kasan: clang, KASAN, SLUB debugging,
#     ODEBUG on free) runs a subset, where memory safety is at stake: the
#     pipeline suite, a shortened stress suite, kapi's self-tests, the KASAN
#     scanner self-test (a module that reads freed and out-of-bounds memory
#     from Rust must be caught) and the lessons no-teardown and leak;
#  4. `make native` for Debian 13's stock 7.3 kernel, in a cached Debian 13
#     root, then that kernel booted with the module (tests/native.sh);
#  5. `make demo` on the default kernel: every stage shown, a clean log.
#
# Each check prints "ok NAME", "FAIL NAME: why" or "SKIP NAME: why"; checks
# of step 3 are named "K:NAME" for kernel K (6.12:build-module, ...). The
# last line is "N passed, M failed[, K skipped]". Exit status 0 iff nothing
# failed. Logs are kept in $SIMRUPT_LOGS (default: a fresh directory under /tmp).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. kernel/supported.sh
kernels=${KERNEL:-$SIMRUPT_CHECK_KERNELS}
for k in $kernels; do kernel_check "$k" || exit 2; done
logs=${SIMRUPT_LOGS:-$(mktemp -d /tmp/simrupt-check.XXXXXX)}
mkdir -p "$logs"
results=$logs/results
: > "$results"
start=$(date +%s)

# Each heading says how long the run has taken so far, so a log shows where
# the time goes (the README's timing table is read from these).
say() { printf '\n\033[1m== %s\033[0m [+%d s]\n' "$*" $(( $(date +%s) - start )); }
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
# collect: pass through a suite's own ok/FAIL/SKIP lines, recording them,
# with the name prefixed by "$kv:" inside a kernel's section.
collect() {
  grep --line-buffered -E '^(ok|FAIL|SKIP) ' | while IFS= read -r l; do
    if [ -n "${kv:-}" ]; then l=$(printf '%s\n' "$l" | sed -E "s/^(ok|FAIL|SKIP) /\\1 $kv:/"); fi
    record "$l"
  done
}
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

say "host tests"
run_step build-guest-tests gcc -static -O2 -Wall -Wextra -Werror \
  -o tests/guest/simrupt_test tests/guest/simrupt_test.c
# rustfmt, the log scanner's self-test, histogram.rs and fast_buf on the host.
tests/host.sh "$logs" | collect
tests/timeline-selftest.sh | collect

# vm_suite NAME [FILE...]: boot, run tests/guest/NAME.sh, scan the log.
vm_suite() {
  local name=$1; shift
  local scan_opts=()
  case $name in faults | robust) scan_opts=(--allow-alloc-failures) ;; esac
  say "Linux $kv VM: $name"
  local log=$logs/vm-$kv-$name.log rc
  scripts/vm.sh --kdir "$kdir" --log "$log" --timeout 1200 \
    "tests/guest/$name.sh" tests/guest/lib.sh tests/guest/trace.sh "$@" | tee "$logs/lines-$kv-$name" | collect
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && ! grep -q "^FAIL " "$logs/lines-$kv-$name"; then
    record "FAIL $kv:vm-$name: guest exited $rc, see $log"
  fi
  if [ "$rc" -eq 125 ]; then record "FAIL $kv:vm-$name-boot: no verdict (hang or crash), see $log"; fi
  scan_rc=0; tests/scan-log.sh "${scan_opts[@]}" "$log" > "$logs/scan-$kv-$name.txt" || scan_rc=$?
}

# --- Per kernel: build the kernel, the module, and run every VM suite ----------
RUSTC=/usr/bin/rustc
# The kernels after the first are built in the background, one at a time, at
# the lowest CPU priority, while the first kernel's VM suites run: much of a
# suite's time the guest waits on its own timers, and a niced build takes
# only the CPU time nobody else wants. On a cold machine this saves most of
# their build time; with every kernel cached it does nothing. A later
# kernel's section waits for its build (build-kernel.sh's lock), then reuses
# it. Its log: $logs/prebuild-K.log.
prebuild_pid=
prebuild_later_kernels() {
  [ -z "$prebuild_pid" ] || return 0
  local later; later=$(printf '%s\n' $kernels | awk -v k="$1" 'after; $0 == k { after = 1 }')
  [ -n "$later" ] || return 0
  (for k in $later; do
     nice -n 19 scripts/build-kernel.sh --kernel "$k" >/dev/null 2>"$logs/prebuild-$k.log" || true
   done) &
  prebuild_pid=$!
}
kernel_section() {
  kv=$1
  local flavour; flavour=$(kernel_flavour "$kv")
  say "Linux $kv: test kernel (built once, then cached)"
  kdir=$(scripts/build-kernel.sh --kernel "$kv" | tail -n 1)
  if [ ! -f "$kdir/arch/x86/boot/bzImage" ]; then record "FAIL $kv:kernel: build failed"; return; fi
  record "ok $kv:kernel"
  prebuild_later_kernels "$kv"

  say "Linux $kv: build"
  # Objects of another kernel's build must not be reused.
  make -s KDIR="$kdir" clean >/dev/null 2>&1
  make -s -C "$kdir" M="$here/tests/broken" clean >/dev/null 2>&1
  # Built through clippy-driver with the kernel's own lint set: any warning fails.
  if run_step "$kv:build-module" make -s KDIR="$kdir" RUSTC=$RUSTC CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver; then
    if grep -E 'warning|error' "$logs/$kv:build-module.log"; then
      record "FAIL $kv:build-module-warnings: see $logs/$kv:build-module.log"
    else
      record "ok $kv:build-module-warnings"
    fi
    # The top half's code on one page (no timing; not on the KASAN kernel,
    # whose instrumented build is not the one benchmarked).
    [ "$flavour" = kasan ] || tests/hot-path.sh simrupt.ko | collect
  fi
  # A clang-built kernel's modules are built with its LLVM (the Makefile
  # does the same for simrupt.ko).
  local llvm=; [ "$flavour" = kasan ] && llvm=LLVM=-$SIMRUPT_LLVM_VERSION
  run_step "$kv:build-broken-module" make -C "$kdir" M="$here/tests/broken" RUSTC=$RUSTC $llvm modules

  # robust and stress: parameter parsing, run-time fault injection; races,
  # fill, soak (issue 8). On the KASAN kernel: the pipeline and a shorter
  # stress suite (tests/guest/stress-short.sh).
  local suites="pipeline measure faults robust stress timeline"
  [ "$flavour" = kasan ] && suites="pipeline stress-short"
  if [ -f simrupt.ko ]; then
    for suite in $suites; do
      local extra=(); [ "$suite" = stress-short ] && extra=(tests/guest/stress.sh)
      vm_suite "$suite" "${extra[@]}"
      if [ "$scan_rc" -eq 0 ]; then record "ok $kv:logscan-$suite"; else
        record "FAIL $kv:logscan-$suite: $(head -n 3 "$logs/scan-$kv-$suite.txt" | tr '\n' ' ')"
        cat "$logs/scan-$kv-$suite.txt"
      fi
    done
  fi
  if [ -f simrupt.ko ] && [ "$flavour" != kasan ]; then
    # The timeline suite's traces, checked and drawn on the host.
    for mode in hrtimer-tasklet timer_list-bh_wq; do
      python3 scripts/timeline.py --check "timeline-$mode" --label "$mode" --out-dir "$logs/timeline-$kv-$mode" \
        "$logs/vm-$kv-timeline.log" > "$logs/timeline-$kv-$mode.txt" 2>&1
      collect < "$logs/timeline-$kv-$mode.txt"
      grep -qE '^(ok|FAIL) ' "$logs/timeline-$kv-$mode.txt" || record "FAIL $kv:timeline-$mode: see $logs/timeline-$kv-$mode.txt"
    done
  fi
  # kapi's soundness: misuses that must not compile, and in-kernel self-tests.
  mkdir -p "$logs/$kv-kapi"
  # (On the KASAN kernel only the self-tests: what does not compile does not
  # depend on the kernel's debugging options.)
  KAPI_SELFTEST_ONLY=$([ "$flavour" = kasan ] && echo 1) tests/kapi/run.sh "$kdir" "$logs/$kv-kapi" | collect
  if [ -f "$logs/$kv-kapi/simrupt-kapi-selftest.ko" ]; then
    vm_suite kapi "$logs/$kv-kapi/simrupt-kapi-selftest.ko"
    if [ "$scan_rc" -eq 0 ]; then record "ok $kv:logscan-kapi"; else
      record "FAIL $kv:logscan-kapi: $(head -n 3 "$logs/scan-$kv-kapi.txt" | tr '\n' ' ')"
    fi
  fi
  if [ "$flavour" = kasan ] && [ -f tests/broken/simrupt_uaf.ko ]; then
    vm_suite scanner-kasan tests/broken/simrupt_uaf.ko
    # Both KASAN reports, caught as "kasan" findings: Rust's loads are checked.
    for bug in use-after-free out-of-bounds; do
      if grep -q "^kasan: .*KASAN: slab-$bug in .*simrupt_uaf" "$logs/scan-$kv-scanner-kasan.txt"; then
        record "ok $kv:scanner-vm-catches-kasan-$bug"
      else
        record "FAIL $kv:scanner-vm-catches-kasan-$bug: no KASAN slab-$bug report caught in $logs/vm-$kv-scanner-kasan.log"
      fi
    done
  fi
  if [ "$flavour" != kasan ] && [ -f tests/broken/simrupt_broken.ko ]; then
    vm_suite scanner tests/broken/simrupt_broken.ko
    # Here the scanner must find problems: both the leak and the atomic sleep.
    for cat in leak atomic-sleep; do
      if grep -q "^$cat: " "$logs/scan-$kv-scanner.txt"; then record "ok $kv:scanner-vm-catches-$cat"
      else record "FAIL $kv:scanner-vm-catches-$cat: tests/scan-log.sh missed it in $logs/vm-$kv-scanner.log"; fi
    done
  fi
  # The lessons (scripts/lesson.sh): each built in a copy of the tree, so
  # simrupt.ko above stays the normal module, which must carry none of them.
  say "Linux $kv: lessons"
  if [ "$flavour" = kasan ]; then
    # The teardown lesson, where KASAN and ODEBUG name the bug, and the leak.
    scripts/lesson.sh --kdir "$kdir" --terminal "$kv" --logs "$logs/lessons-$kv" check no-teardown leak | collect
    kv=; return
  fi
  scripts/lesson.sh check-normal simrupt.ko | collect
  scripts/lesson.sh --kdir "$kdir" --terminal "$kv" --logs "$logs/lessons-$kv" check | collect
  scripts/lesson.sh --kdir "$kdir" --terminal "$kv" --logs "$logs/lessons-$kv" selftest | collect
  # make shell, typed into through a real terminal (tmux), as a learner does.
  say "Linux $kv: make shell, through a terminal"
  tests/shell/run.sh "$kv" "$logs/shell-$kv" | collect
  kv=
}

for k in $kernels; do kernel_section "$k"; done

# --- On a distribution's own kernel: make native, booted (tests/native.sh) -----
# simrupt.ko built by `make native` for Debian 13's stock 7.3 kernel, in a
# cached Debian 13 root, then loaded in Debian's own vmlinuz under QEMU.
# Checks are named "native-7.3:NAME". SIMRUPT_NATIVE=0 skips it; so does
# KERNEL=6.12. First, the self-test of make's KDIR/rustc check ("kdir-rustc:").
native_section() {
  # What `make` checks before building against any KDIR (host only, fast).
  tests/kdir-rustc-selftest.sh | collect
  if [ "${SIMRUPT_NATIVE:-1}" = 0 ]; then record "SKIP native-7.3: SIMRUPT_NATIVE=0"; return; fi
  case " $kernels " in *" 7.3 "*) ;; *) record "SKIP native-7.3: KERNEL=$kernels"; return ;; esac
  say "native: make native for Debian 13's own 7.3 kernel, booted in QEMU"
  tests/native.sh --logs "$logs/native-7.3" --series 7.3 | collect
}
native_section

# --- make demo, as the README's first command, on the default kernel ----------
# It must show every stage of the pipeline, unload cleanly, and leave a clean
# kernel log; its output is kept as the log "demo.log" (the README's quoted
# demo comes from a committed run of it, Documentation/captures/demo-6.12.txt).
demo_section() {
  case " $kernels " in *" $SIMRUPT_DEFAULT_KERNEL "*) ;; *) record "SKIP demo: KERNEL=$kernels"; return ;; esac
  say "make demo (Linux $SIMRUPT_DEFAULT_KERNEL)"
  local log=$logs/demo.log
  if ! scripts/demo.sh > "$log" 2>&1; then record "FAIL demo: exit $?, see $log"; tail -n 20 "$log"; return; fi
  record "ok demo"
  local line missing=
  for line in 'registered new simrupt device' '] enter timer_handler' '] produce data' \
      '] scheduling tasklet' 'simrupt_tasklet_func in_softirq' 'simrupt_work_func moved 1 bytes' \
      'unloaded cleanly' 'dropped 0 overwritten 0' 'one-tick.svg'; do
    grep -qF -- "$line" "$log" || missing="$missing '$line'"
  done
  if [ -z "$missing" ]; then record "ok demo-shows-every-stage"
  else record "FAIL demo-shows-every-stage: missing$missing in $log"; fi
  if tests/scan-log.sh out/demo/console.log > "$logs/scan-demo.txt"; then record "ok logscan-demo"
  else record "FAIL logscan-demo: $(head -n 3 "$logs/scan-demo.txt" | tr '\n' ' ')"; fi
}
demo_section

[ -z "$prebuild_pid" ] || wait "$prebuild_pid"
summary
