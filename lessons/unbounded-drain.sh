# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=unbounded-drain` (runs as /guest.sh).
. /lib.sh
# Every detector that could see a runaway work item, at its shortest.
echo 2 > /proc/sys/kernel/hung_task_timeout_secs
echo 1 > /proc/sys/kernel/hung_task_check_interval_secs 2>/dev/null
echo 1 > /proc/sys/kernel/watchdog_thresh                              # soft lockup after 2 s
echo 2 > /sys/module/workqueue/parameters/watchdog_thresh 2>/dev/null  # workqueue stall after 2 s
echo 3 > /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout 2>/dev/null
# 4096 bytes every millisecond: more than the work item can move.
insmod /simrupt.ko period_us=1000 burst=4096 trace=0
echo "# a reader (cat) reads as fast as it can"
cat /dev/simrupt > /dev/null &
reader=$!
sleep 8
echo "# reader $reader: $(grep State /proc/$reader/status)"
for p in /proc/[0-9]*; do  # the work item's kworker, and its CPU time
  c=$(cat $p/comm 2>/dev/null)
  case $c in *simruptd*) echo "# $c: $(grep State $p/status) utime+stime=$(cut -d' ' -f14,15 $p/stat) ticks";; esac
done
grep -E '^(produced|delivered|dropped_fast_buf|queued_kfifo|work_runs):' /sys/kernel/debug/simrupt/stats
dump_dmesg unbounded-drain
