# SPDX-License-Identifier: GPL-2.0
# In-guest tests of simrupt.ko built by `make native` for a distribution's own
# kernel (tests/native.sh boots Debian's own vmlinuz): what a learner checks on
# their machine. A production kernel has no kmemleak, lockdep or fault
# injection, so the suites that need them stay on the project's test kernels;
# here: load, the pipeline's bytes and trace, the read semantics for every
# timer x bottom half, parameter checks, taint, cycles and a clean unload.
. /lib.sh
P=/sys/module/simrupt/parameters

# --- The kernel is the stock one -------------------------------------------
check stock-kernel sh -c "grep -q 'Debian' /proc/version"
echo "# $(cat /proc/version)"

# --- Load, device node, first bytes, trace lines -----------------------------
check load insmod /simrupt.ko
check loaded loaded
check devnode test -c /dev/simrupt
check param-defaults sh -c "test \"\$(cat $P/delay) \$(cat $P/timer) \$(cat $P/bottom_half) \$(cat $P/trace)\" = '100 hrtimer tasklet Y'"
check first-bytes sh -c "test \"\$(head -c 8 /dev/simrupt | od -An -tx1 | tr -d ' \n')\" = 2021222324252627"
check trace-lines sh -c "dmesg > /tmp/d
  grep -qE 'simrupt: \[CPU#[0-9]+\] enter timer_handler\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] produce data\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] simrupt_tasklet_func in_softirq: [0-9]+ ns\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] simrupt_work_func\$' /tmp/d"
# An out-of-tree module taints the kernel (flag O, 4096); that is expected.
check tainted-out-of-tree sh -c "test \$(( \$(cat /proc/sys/kernel/tainted) & 4096 )) -ne 0"
exec 3</dev/simrupt
check_not unload-while-open rmmod simrupt
exec 3<&-
check unload rmmod simrupt
check_not gone-after-unload loaded
dump_dmesg basic

# --- Read semantics, for every timer x bottom half -----------------------------
for timer in hrtimer timer_list; do
  for bh in tasklet bh_wq; do
    TAG=$timer-$bh
    if ! insmod /simrupt.ko timer=$timer bottom_half=$bh delay=20 trace=0; then
      fail "load-$TAG" "insmod failed"; continue
    fi
    ok "load-$TAG"
    t sequence 3
    t nonblock
    t signal
    t efault
    t poll
    t epoll
    check "unload-$TAG" rmmod simrupt
    dump_dmesg "$TAG"
  done
done
TAG=

# --- Invalid parameters are refused ------------------------------------------
for arg in timer=bogus delay=0 trace=maybe; do
  check_not "reject-$arg" insmod /simrupt.ko "$arg"
  check_not "reject-$arg-not-loaded" loaded
done

# --- Cycles ------------------------------------------------------------------
i=0; cycles_ok=1
while [ $i -lt 10 ]; do
  insmod /simrupt.ko delay=10 trace=0 || { cycles_ok=0; break; }
  [ "$(head -c 3 /dev/simrupt | wc -c)" = 3 ] || { cycles_ok=0; rmmod simrupt; break; }
  rmmod simrupt || { cycles_ok=0; break; }
  i=$((i + 1))
done
if [ $cycles_ok = 1 ]; then ok load-read-unload-x10; else fail load-read-unload-x10 "cycle $i failed"; fi
dump_dmesg end
[ "$failures" -eq 0 ]
