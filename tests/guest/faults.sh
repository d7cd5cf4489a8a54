# SPDX-License-Identifier: GPL-2.0
# Fault injection: make the N-th slab allocation of `insmod simrupt.ko` fail,
# for N = 1, 2, ... until loading gets through without reaching the N-th
# allocation. Every failed load must unwind cleanly: the module is not left
# loaded, nothing leaks (kmemleak), nothing warns (the host scans the log).
# Uses failslab with /proc/thread-self/fail-nth (Documentation/fault-injection/).
. /lib.sh
F=/sys/kernel/debug/failslab
kmemleak_start
# Inject into GFP_KERNEL allocations too (the default skips those that may sleep),
# and keep the log quiet: one line per injection instead of a backtrace each.
echo N > $F/ignore-gfp-wait
echo 0 > $F/verbose

n=1; failed_loads=0; done=0; bad=""
while [ $n -le 600 ]; do
  out=$(simrupt_test failnth $n /simrupt.ko); rc=$?
  case "$rc:$out" in
    0:*injected=0*)   # Loaded without reaching the N-th allocation: all covered.
      rmmod simrupt || bad="$bad rmmod-after-$n"
      done=1; break ;;
    0:*injected=1*)   # A fault was absorbed somewhere (e.g. an optional allocation).
      rmmod simrupt || bad="$bad rmmod-after-$n" ;;
    3:*injected=1*)
      failed_loads=$((failed_loads + 1))
      loaded && { bad="$bad still-loaded-after-$n"; rmmod simrupt; } ;;
    *) bad="$bad n=$n:rc=$rc:$out" ;;
  esac
  n=$((n + 1))
done
echo "# $((n - 1)) allocations in the load path, $failed_loads injected failures made the load fail"
if [ $done = 1 ] && [ -z "$bad" ]; then ok failslab-every-allocation; else fail failslab-every-allocation "done=$done bad:$bad"; fi
dump_dmesg failslab > /tmp/log
cat /tmp/log
# Each step of simrupt's init must have been failed at least once, and said so.
for stage in rx_fifo rx_times fast_buf workqueue "device state" /dev/simrupt; do
  check "failslab-hit-$(echo "$stage" | tr ' /' '-_')" grep -q "simrupt: init: $stage failed: error -12" /tmp/log
done
# And loading still works afterwards.
check load-after-faults sh -c "insmod /simrupt.ko && head -c 3 /dev/simrupt >/dev/null && rmmod simrupt"
kmemleak_check faults
dump_dmesg end
[ "$failures" -eq 0 ]
