# SPDX-License-Identifier: GPL-2.0
# In-guest tests of the simrupt pipeline: device, parameters, trace, the read
# semantics for every timer x bottom-half combination, unload rules, cycles,
# and kmemleak. Runs as /guest.sh in the VM (see scripts/vm.sh).
. /lib.sh
P=/sys/module/simrupt/parameters
kmemleak_start

# --- Load, device node, parameters, first bytes -----------------------------
check load insmod /simrupt.ko
check devnode test -c /dev/simrupt
check param-defaults sh -c "test \"\$(cat $P/delay) \$(cat $P/timer) \$(cat $P/bottom_half) \$(cat $P/trace)\" = '100 hrtimer tasklet Y'"
check registered-line sh -c "dmesg | grep -qE 'simrupt: registered new simrupt device: [0-9]+,0'"
# A fresh load starts the sequence at ' ' (0x20), as C does.
check first-bytes sh -c "test \"\$(head -c 8 /dev/simrupt | od -An -tx1 | tr -d ' \n')\" = 2021222324252627"
check trace-lines sh -c "dmesg > /tmp/d
  grep -qE 'simrupt: \[CPU#[0-9]+\] enter timer_handler\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] produce data\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] scheduling tasklet\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] timer_handler in_irq: [0-9]+ ns\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] simrupt_tasklet_func in_softirq: [0-9]+ ns\$' /tmp/d &&
  grep -qE 'simrupt: \[CPU#[0-9]+\] simrupt_work_func\$' /tmp/d &&
  grep -q 'simrupt: open current cnt: 1' /tmp/d &&
  grep -q 'simrupt: release, current cnt: 0' /tmp/d"
# The timer only runs while the device is open.
check idle-when-closed sh -c "dmesg -c >/dev/null; sleep 0.5; ! dmesg | grep -q 'enter timer_handler'"

# --- Unload rules ---------------------------------------------------------
exec 3</dev/simrupt
check_not unload-while-open rmmod simrupt
check still-loaded loaded
exec 3<&-
check unload-after-close rmmod simrupt
check_not gone-after-unload loaded
dump_dmesg basic

# --- Read semantics, for every timer x bottom half -------------------------
for timer in hrtimer timer_list; do
  for bh in tasklet bh_wq; do
    echo "# combination timer=$timer bottom_half=$bh"
    TAG=$timer-$bh
    if ! insmod /simrupt.ko timer=$timer bottom_half=$bh; then
      fail "load-$timer-$bh" "insmod failed"; continue
    fi
    ok "load-$timer-$bh"
    t sequence 3
    t nonblock
    t signal
    t efault
    t readers 2 3
    t poll
    t select
    t epoll
    t epoll-et
    # This combination's own trace lines, with CPU numbers.
    case $bh in
      tasklet) sched='scheduling tasklet' ;;
      bh_wq) sched='scheduling bh work' ;;
    esac
    check "trace-$timer-$bh" sh -c "dmesg | grep -qE 'simrupt: \[CPU#[0-9]+\] $sched\$' &&
      dmesg | grep -qE 'simrupt: \[CPU#[0-9]+\] simrupt_tasklet_func in_softirq: [0-9]+ ns\$'"
    check "unload-$timer-$bh" rmmod simrupt
    dump_dmesg "$timer-$bh"
  done
done
TAG=

# --- trace=0 silences the pipeline -------------------------------------------
check load-trace-off insmod /simrupt.ko trace=0
dmesg -c > /dev/null
# Five bytes really went through the pipeline, and no stage logged a line.
check trace-off sh -c "test \$(head -c 5 /dev/simrupt | wc -c) = 5 && ! dmesg | grep -qE 'CPU#[0-9]+\]'"
rmmod simrupt

# --- A bare boolean parameter means "on", as in C ---------------------------
check bare-bool-param sh -c "insmod /simrupt.ko trace && test \$(cat $P/trace) = Y && rmmod simrupt"

# --- Invalid parameters are refused, with a clear log line -----------------
for arg in timer=bogus bottom_half=softirq delay=0 delay=10001 delay=abc trace=maybe; do
  name=${arg%%=*}
  dmesg -c > /dev/null
  check_not "reject-$arg" insmod /simrupt.ko "$arg"
  check "reject-$arg-logged" sh -c "dmesg | grep -q \"invalid value '${arg#*=}' for parameter '$name'\""
  check_not "reject-$arg-not-loaded" loaded
done

# --- Many cycles ------------------------------------------------------------
insmod /simrupt.ko trace=0
t openclose 200
rmmod simrupt
i=0; cycles_ok=1
while [ $i -lt 20 ]; do
  insmod /simrupt.ko delay=10 trace=0 || { cycles_ok=0; break; }
  [ "$(head -c 3 /dev/simrupt | wc -c)" = 3 ] || { cycles_ok=0; rmmod simrupt; break; }
  rmmod simrupt || { cycles_ok=0; break; }
  i=$((i + 1))
done
if [ $cycles_ok = 1 ]; then ok load-read-unload-x20; else fail load-read-unload-x20 "cycle $i failed"; fi
dump_dmesg cycles

kmemleak_check pipeline
dump_dmesg end
[ "$failures" -eq 0 ]
