# SPDX-License-Identifier: GPL-2.0
# Guest helper (busybox sh), sourced by demo.sh and timeline.sh: record the
# kernel's own trace events (ftrace, through tracefs) while /dev/simrupt is
# read, and print the raw trace on the console for the host's
# scripts/timeline.py. No printk is involved: these are the tracepoints every
# kernel has (include/trace/events/{timer,irq,workqueue,sched}.h).
#
#   trace_ticks LABEL SECONDS   record SECONDS of the loaded module at work
#
# The trace is printed between two marker lines, as gzip + base64 so that a
# few thousand events cross the emulated serial port in a second:
#   SIMRUPT-TRACE-BEGIN LABEL reader=PID opener=PID delay=MS trace=Y|N
#   H4sIAAAAAAAAA...
#   SIMRUPT-TRACE-END LABEL
# An event the kernel lacks is reported as "SIMRUPT-TRACE-MISSING EVENT".

T=/sys/kernel/tracing

# The events, in pipeline order. hrtimer_* is the default top half (hard
# IRQ); timer_expire_* the timer_list one (TIMER softirq). The tasklet runs in
# the TASKLET softirq, and so does work on system_bh_wq (kernel/softirq.c:
# tasklet_action() calls workqueue_softirq_action() on 6.12 and 7.3).
# workqueue_queue_work names the queue (simruptd or events_bh); the work item
# then shows as workqueue_execute_start/end. sched_waking (traced on the
# waker's CPU, by wake_up() in the work item), sched_wakeup and sched_switch
# show the reader (cat) being woken and running.
TRACE_EVENTS="timer/hrtimer_expire_entry timer/hrtimer_expire_exit
  timer/timer_expire_entry timer/timer_expire_exit
  irq/softirq_entry irq/softirq_exit irq/tasklet_entry irq/tasklet_exit
  workqueue/workqueue_queue_work workqueue/workqueue_execute_start workqueue/workqueue_execute_end
  sched/sched_waking sched/sched_wakeup sched/sched_switch"

# trace_setup: mount tracefs, clear the buffer, enable the events (off until trace_ticks).
trace_setup() {
  [ -e $T/trace ] || mount -t tracefs nodev $T || return 1
  echo 0 > $T/tracing_on
  # One clock for all CPUs, so that events on CPU 0 and CPU 1 can be ordered.
  echo global > $T/trace_clock
  echo 4096 > $T/buffer_size_kb
  # Print pointers as they are: the host matches each workqueue_execute_start
  # to the workqueue_queue_work of the same work struct, and each timer's exit
  # to its entry. Hashed, they all read "(____ptrval____)" this soon after
  # boot (the hash key waits for entropy). A throwaway test VM: nothing to hide.
  echo 0 > $T/options/hash-ptr
  echo 0 > $T/events/enable
  for e in $TRACE_EVENTS; do
    if [ -e $T/events/$e/enable ]; then echo 1 > $T/events/$e/enable
    else echo "SIMRUPT-TRACE-MISSING $e"; fi
  done
  # Only the TIMER (1) and TASKLET (6) softirqs: the others are noise here.
  echo 'vec == 1 || vec == 6' > $T/events/irq/softirq_entry/filter
  echo 'vec == 1 || vec == 6' > $T/events/irq/softirq_exit/filter
  echo > $T/trace
}

# trace_ticks LABEL SECONDS: with the module loaded, record SECONDS of it.
#
# A first process, pinned to CPU 0, opens the device: the first open starts
# the timer, on the CPU that opened it, so the "interrupt" fires on CPU 0 (as
# a real device's IRQ is routed to one CPU). The reader, cat, is pinned to
# CPU 1. The work item runs on an unbound kworker, on whichever CPU is free.
trace_ticks() {
  _label=$1 _secs=$2
  trace_setup || { echo "SIMRUPT-TRACE-MISSING tracefs"; return 1; }
  taskset 1 sh -c "exec 3</dev/simrupt; exec sleep $((_secs + 2))" &
  _opener=$!
  sleep 0.3
  echo 1 > $T/tracing_on
  taskset 2 cat /dev/simrupt > /dev/null &
  _reader=$!
  sleep "$_secs"
  echo 0 > $T/tracing_on
  kill $_reader $_opener
  wait $_reader $_opener 2>/dev/null
  _p=/sys/module/simrupt/parameters
  echo "SIMRUPT-TRACE-BEGIN $_label reader=$_reader opener=$_opener delay=$(cat $_p/delay) trace=$(cat $_p/trace)"
  # Keep kernel messages off the console meanwhile (they stay in dmesg).
  _level=$(cut -f1 /proc/sys/kernel/printk)
  dmesg -n 1
  gzip -c < $T/trace | base64
  dmesg -n "$_level"
  echo "SIMRUPT-TRACE-END $_label"
  echo 0 > $T/events/enable
  echo > $T/trace
}
