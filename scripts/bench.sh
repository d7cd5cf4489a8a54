#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: benchmarks, not tests (nothing here passes or fails on speed).
#  1. fast_buf against rtrb, ringbuf and crossbeam's ArrayQueue, on the host;
#  2. the pipeline in the VM: rate, losses and latencies per period and bottom half;
#  3. the top half with trace on, in one VM boot: a C reference top half
#     (bench/cref), simrupt before the printk change (BEFORE_REV) and now.
# KERNEL=6.12|7.3 picks the test kernel (default 6.12); BENCH_ONLY=tophalf
# runs only part 3.
# Numbers from a shared, noisy machine; compare the ratios within one run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"
scripts/deps.sh >/dev/null
# The commit just before trace lines moved from pr_info! to C-format printk.
BEFORE_REV=${BEFORE_REV:-0fceee9}
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

# --- 3. The top half against a C reference, trace on, one boot ----------------
work=$(mktemp -d /tmp/simrupt-bench-tophalf.XXXXXX)
mkdir -p "$work/cref"
cp bench/cref/simrupt_cref.c bench/cref/Kbuild "$work/cref/"
make -s -C "$kdir" M="$work/cref" modules >/dev/null
extra=("$work/cref/simrupt_cref.ko")
if git -C "$here" cat-file -e "$BEFORE_REV^{commit}" 2>/dev/null; then
  mkdir -p "$work/before"
  git -C "$here" archive "$BEFORE_REV" | tar -x -C "$work/before"
  make -s -C "$work/before" KDIR="$kdir" RUSTC=/usr/bin/rustc >/dev/null
  cp "$work/before/simrupt.ko" "$work/simrupt-before.ko"
  extra+=("$work/simrupt-before.ko")
else
  echo "(no commit $BEFORE_REV in this clone: the 'before' runs are skipped)"
fi
tlog=$(mktemp /tmp/simrupt-bench-tophalf.XXXXXX)
echo
echo "## The top half, trace on, against a C reference top half (one boot, $(uname -m), Linux $(basename "$kdir" | cut -d- -f2))"
scripts/vm.sh --kdir "$kdir" --log "$tlog" --timeout 1200 tests/guest/bench-tophalf.sh "${extra[@]}" >/dev/null || {
  echo "top-half VM run failed; console log: $tlog" >&2; exit 1; }
grep '^TOPHALF|' "$tlog" | awk -F'|' '
  { m[$3] = m[$3] " " $5; t[$3] += $4; if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
  function med(s,   a, k, i, j, x) {
    k = split(s, a, " ")
    for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return a[int((k + 1) / 2)]
  }
  END {
    print "| variant | ticks | median of round medians (ns) | per-round medians (ns) | ratio to C |"
    print "|---|---:|---:|---|---:|"
    c = med(m["cref"])
    for (i = 1; i <= n; i++) { v = order[i]; x = med(m[v])
      printf "| %s | %d | %d |%s | %.2f |\n", v, t[v], x, m[v], (c > 0 ? x / c : 0) }
  }'
echo
echo "Trace off (simrupt now; median from the top_half histogram, log2 buckets):"
echo
echo "| timer | ticks | median (ns) |"
echo "|---|---:|---:|"
grep '^TOPHALF-OFF|' "$tlog" | cut -d'|' -f2- | awk -F'|' '{ print "| " $1 " | " $2 " | " $3 " |" }'
echo
echo "(console log: $tlog)"
rm -rf "$work"
