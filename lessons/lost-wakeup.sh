# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=lost-wakeup` (runs as /guest.sh).
. /lib.sh
# Report a task blocked for 2 s, checking every second (the defaults: 60 s, 60 s).
echo 2 > /proc/sys/kernel/hung_task_timeout_secs
echo 1 > /proc/sys/kernel/hung_task_check_interval_secs 2>/dev/null
insmod /simrupt.ko trace=0
echo "# a reader blocks on /dev/simrupt; the work item fills rx_fifo but never wakes it"
head -c 1 /dev/simrupt > /dev/null &
reader=$!
sleep 1
echo "# reader $reader: $(grep State /proc/$reader/status)"
grep -E '^(produced|delivered|queued_kfifo|work_runs):' /sys/kernel/debug/simrupt/stats
echo "# waiting for the hung-task detector"
sleep 5
grep -E '^(produced|delivered|queued_kfifo|work_runs):' /sys/kernel/debug/simrupt/stats
dump_dmesg lost-wakeup
echo "# the reader can never be woken (uninterruptible): leaving it blocked"
