#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: benchmarks, not tests (nothing here passes or fails on speed).
#  1. fast_buf against rtrb, ringbuf and crossbeam's ArrayQueue, on the host;
#  2. the pipeline in the VM: rate, losses and latencies per period and bottom half;
#  3. the top half (scripts/bench-tophalf.sh), one VM boot per kernel: trace
#     on against a C reference top half (bench/cref) and simrupt's benchmark
#     variants; trace off against the floor (bench/floor); the project's
#     debug kernel, then Debian 13's stock kernel (BENCH_NATIVE=0 skips it).
# KERNEL=6.12|7.3 picks the test kernel (default 6.12); BENCH_ONLY=tophalf
# runs only part 3.
# Numbers from a shared, noisy machine; compare the ratios within one run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"
scripts/deps.sh >/dev/null
only=${BENCH_ONLY:-all}
if [ "$only" = all ]; then
echo "## fast_buf on the host ($(nproc) CPUs, $(date -u +%Y-%m-%d))"
tests/fastbuf/bench.sh
fi

kdir=$(scripts/build-kernel.sh | tail -n 1)
make -s KDIR="$kdir" clean >/dev/null 2>&1
make -s KDIR="$kdir" RUSTC=/usr/bin/rustc
gcc -static -O2 -Wall -Wextra -Werror -o tests/guest/simrupt_test tests/guest/simrupt_test.c
log=$(mktemp /tmp/simrupt-bench.XXXXXX)
table() { # PREFIX: turn "PREFIX|a|b|c" lines into a Markdown table
  grep "^$1|" "$log" | cut -d'|' -f2- | awk -F'|' '
    NR == 1 { print "| " $0 " |"; s = "|"; for (i = 1; i <= NF; i++) s = s "---|"; print s; next }
    { print "| " $0 " |" }' | sed 's/|/ | /g; s/  */ /g; s/^ //; s/ $//'
}
if [ "$only" = all ]; then
echo
echo "## The pipeline in the VM (QEMU TCG, software emulation, 2 vCPUs, debug kernel; trace=0)"
scripts/vm.sh --kdir "$kdir" --log "$log" --timeout 900 tests/guest/bench.sh >/dev/null || {
  echo "bench VM run failed; console log: $log" >&2; exit 1; }
table BENCH
echo
echo "Top-half cost with tracing off and on (delay=10 ms, 2 s):"
echo
table BENCH-TRACE
echo
echo "(console log: $log)"
fi

# --- 3. The top half: like for like against C, variants, the floor -----------
# On the project's debug kernel, then on Debian 13's stock kernel (Debian's own
# vmlinuz, the modules built as `make native` builds them, in the Debian 13
# root of tests/native.sh); BENCH_NATIVE=0 skips the second.
scripts/bench-tophalf.sh --kdir "$kdir"
if [ "${BENCH_NATIVE:-1}" != 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then scripts/bench-tophalf.sh --native
  else echo "(Debian's stock kernel skipped: the Debian 13 root needs root)"; fi
fi
