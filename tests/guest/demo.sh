# SPDX-License-Identifier: GPL-2.0
# The guest side of `make demo`. The console shows both what the commands print
# and, with the console log level raised, every kernel message as it happens:
# the same picture as `cat /dev/simrupt` in one terminal and `dmesg -w` in another.
# Then it records the kernel's trace events (tests/guest/trace.sh) for the
# host's timeline picture (scripts/timeline.py).
step() { echo; echo "### $*"; }

step "insmod simrupt.ko    (the module registers /dev/simrupt; devtmpfs creates the node)"
insmod /simrupt.ko "$@" || exit 1
dmesg | grep 'simrupt:'
ls -l /dev/simrupt
step "Parameters: /sys/module/simrupt/parameters/"
for p in /sys/module/simrupt/parameters/*; do echo "  ${p##*/} = $(cat "$p")"; done

step "cat /dev/simrupt for 3 seconds, the kernel log interleaved on the console"
echo "    Each 100 ms: the timer's top half (hard IRQ) produces one byte into fast_buf and"
echo "    schedules the tasklet (softirq), which queues simrupt_work_func (process context),"
echo "    which moves the byte into the kfifo and wakes cat. Note the [CPU#n] of each stage."
echo
dmesg -n 8
cat /dev/simrupt &
pid=$!
sleep 3
kill $pid
wait $pid 2>/dev/null
dmesg -n 5
echo

step "The same, seen by the kernel's own tracing (ftrace events, no printk), 2 seconds"
echo "    Recorded: timer, softirq, tasklet, workqueue and scheduler events. The device is"
echo "    opened first by a process on CPU 0, so the timer (our interrupt) fires on CPU 0;"
echo "    cat reads on CPU 1. The host draws one tick from this trace (step 5)."
. /trace.sh
trace_ticks "$(cat /sys/module/simrupt/parameters/timer)-$(cat /sys/module/simrupt/parameters/bottom_half)" 2

step "rmmod simrupt"
rmmod simrupt && echo "unloaded cleanly"
dmesg | tail -n 2
