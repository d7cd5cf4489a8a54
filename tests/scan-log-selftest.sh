#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host-side self-test of tests/scan-log.sh: a clean log passes, and each kind of
# kernel report, as the kernel prints it, is caught in its own category.
# (tests/guest/scanner.sh proves the same inside a booted kernel.)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failed=0

expect() { # name category log-line
  printf '[    1.000000] ordinary line\n%s\n' "$3" > "$tmp/log"
  if out=$("$here/scan-log.sh" "$tmp/log"); then
    echo "FAIL scanner-$1: not caught: $3"; failed=1
  elif ! grep -q "^$2: " <<< "$out"; then
    echo "FAIL scanner-$1: caught, but not as '$2': $out"; failed=1
  else
    echo "ok scanner-$1"
  fi
}

cat > "$tmp/clean" <<'LOG'
[    0.376748] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    1.977537] simrupt: loading out-of-tree module taints kernel.
[    3.645023] simrupt: [CPU#0] timer_handler in_irq: 29154 ns
[    4.106446] simrupt: unloading: produced 20 delivered 20 dropped 0 overwritten 0 queued 0
LOG
if out=$("$here/scan-log.sh" "$tmp/clean"); then echo "ok scanner-clean-log"; else echo "FAIL scanner-clean-log: false positive: $out"; failed=1; fi

expect warn warning '[    2.1] WARNING: CPU: 1 PID: 71 at simrupt.rs:10 init+0x1/0x2 [simrupt]'
expect bug bug '[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000'
expect oops oops '[    2.1] Oops: general protection fault, probably for non-canonical address 0xdead'
expect lockdep lockdep '[    2.1] WARNING: possible circular locking dependency detected'
expect atomic-sleep atomic-sleep '[    2.1] BUG: sleeping function called from invalid context at kernel/time/sleep_timeout.c:1'
expect kmemleak leak 'unreferenced object 0xffff888003a1c000 (size 256):'
expect kmemleak-summary leak '[   12.0] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'
expect debugobjects debugobjects '[    2.1] ODEBUG: free active (active state 0) object: ffff88800 object type: timer_list hint: 0x0'
expect kasan-uaf kasan '[    2.1] BUG: KASAN: slab-use-after-free in init_module+0x4c/0x150 [simrupt_uaf]'
expect kasan-oob kasan '[    2.1] BUG: KASAN: slab-out-of-bounds in init_module+0x9e/0x150 [simrupt_uaf]'
expect kasan-vmalloc kasan '[    2.1] BUG: KASAN: vmalloc-out-of-bounds in fast_buf_put+0x21/0x80 [simrupt]'
expect slub-redzone slub-debug '[    2.1] BUG kmalloc-64 (Tainted: G           O      ): Right Redzone overwritten'
expect slub-poison slub-debug '[    2.1] BUG kmalloc-256 (Not tainted): Poison overwritten'
expect list-corruption list-corruption '[    2.1] list_add corruption. prev->next should be next (ffff), but was 0000.'
expect hung-task lockup '[   99.0] INFO: task cat:80 blocked for more than 60 seconds.'
expect context-check context-check '[    2.1] simrupt: context check failed: the bottom half must run in softirq context'
expect invariant invariant '[    2.1] simrupt: invariant broken: rx_times full while rx_fifo has room (a simrupt bug)'
# A raw trace's base64 lines are not scanned, but only inside its block: the
# same line outside one is, and so is a kernel message inside one.
b64='H4sIAAAAAAAAA+1dW3PbRpZ+z6/AOOXXgtr2rZu1XOSMqXCIhOopsW8Brx5EQ'
# (The serial console ends its lines with CR LF.)
printf '%s\r\n' '[    5.000000] simrupt: [CPU#0] timer_handler in_irq: 29154 ns' \
  'SIMRUPT-TRACE-BEGIN demo reader=80 opener=79 delay=100 trace=N' "$b64" "${b64}XOopsEQ==" \
  'SIMRUPT-TRACE-END demo' > "$tmp/trace"
if out=$("$here/scan-log.sh" "$tmp/trace"); then echo "ok scanner-skips-trace-base64"
else echo "FAIL scanner-skips-trace-base64: false positive: $out"; failed=1; fi
printf '%sXOopsEQ==\n' "$b64" >> "$tmp/trace"
if "$here/scan-log.sh" "$tmp/trace" > /dev/null; then echo "FAIL scanner-base64-outside-trace: not flagged"; failed=1
else echo "ok scanner-base64-outside-trace"; fi
sed -i '$d' "$tmp/trace"
sed -i 's/^SIMRUPT-TRACE-END/[    6.0] Oops: general protection fault, probably for non-canonical address 0xdead\nSIMRUPT-TRACE-END/' "$tmp/trace"
if "$here/scan-log.sh" "$tmp/trace" > /dev/null; then echo "FAIL scanner-kernel-line-inside-trace: not flagged"; failed=1
else echo "ok scanner-kernel-line-inside-trace"; fi
# --allow-alloc-failures drops exactly the allocation-failure report, nothing else.
cat > "$tmp/alloc" <<'LOG'
[   68.549659] simrupt_test: vmalloc error: size 65664, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL)
[   68.550964] Call Trace:
[   68.550972]  <TASK>
[   68.551010]  warn_alloc+0xef/0x168
[   68.551430]  </TASK>
[   68.556153] simrupt: init: fast_buf failed: error -12
LOG
if "$here/scan-log.sh" --allow-alloc-failures "$tmp/alloc" > /dev/null; then echo "ok scanner-allows-injected-alloc-failure"
else echo "FAIL scanner-allows-injected-alloc-failure: the expected report was flagged"; failed=1; fi
if "$here/scan-log.sh" "$tmp/alloc" > /dev/null; then echo "FAIL scanner-flags-alloc-failure-by-default: not flagged"; failed=1
else echo "ok scanner-flags-alloc-failure-by-default"; fi
printf '[ 1.0] WARNING: CPU: 0 PID: 1 at x\n' >> "$tmp/alloc"
if "$here/scan-log.sh" --allow-alloc-failures "$tmp/alloc" > /dev/null; then echo "FAIL scanner-allow-keeps-other-reports: a WARNING after the report was missed"; failed=1
else echo "ok scanner-allow-keeps-other-reports"; fi
exit "$failed"
