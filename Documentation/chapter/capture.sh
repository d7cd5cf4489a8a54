#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Produces every `make shell` transcript the chapter quotes, by typing the
# chapter's commands into a real `make shell`, as a learner would:
#
#   Documentation/chapter/capture.sh [KERNEL...]     (default: 6.12 7.3)
#   Documentation/chapter/capture.sh --lessons [KERNEL...]
#   Documentation/chapter/capture.sh --kasan
#   Documentation/chapter/capture.sh --runtime
#
# For each kernel it runs `make shell KERNEL=K` in a terminal (tmux, through
# tests/shell/tmux.sh), waits for the `(vm) / # ` prompt, types each command
# below exactly as the chapter shows it (the exercises "from two shells" in a
# second `make shell`, attached to the same VM), and writes both screens,
# prompts, commands and outputs, unedited, to transcript-K.txt here.
# --lessons instead writes lessons-K.txt: `scripts/lesson.sh run NAME` for the
# compile-time lessons (their rustc errors; host only, no VM).
# --kasan writes lessons-6.12-kasan.txt: `make lesson NAME=no-teardown
# KERNEL=6.12-kasan`, the teardown lesson on the KASAN test kernel (unit 6).
# --runtime writes lessons-runtime-6.12.txt: `make lesson NAME=...
# KERNEL=6.12` for each runtime lesson the units quote, in the units' order;
# and lessons-runtime-7.3.txt: the teardown lesson on 7.3 (unit 6). Each
# boots the VM once per lesson (about 15 min for all, with kernels cached).
#
# The chapter's ```console blocks quote these files line for line, and
# tests/chapter/check.sh (in make check's host tests) fails when a quoted line
# is not in them. After changing the code or this list: run this, then
# update the quotes from the new files, then run tests/chapter/check.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$here/Documentation/chapter
lessons=0
[ "${1:-}" = --lessons ] && { lessons=1; shift; }
# run_lessons KERNEL FILE NAME...: `make lesson NAME=... KERNEL=...` for each
# NAME, its output unedited but for colours and the temporary directory's name.
run_lessons() {
  local kv=$1 file=$2 name; shift 2
  for name in "$@"; do
    echo "\$ make lesson NAME=$name KERNEL=$kv"
    (cd "$here" && make -s lesson NAME="$name" KERNEL="$kv" 2>&1) |
      sed 's/\x1b\[[0-9;]*m//g; s|/tmp/simrupt-lesson\.[A-Za-z0-9]*|/tmp/simrupt-lesson.XXXXXX|g'
  done > "$out/$file"
  echo "wrote $out/$file"
}
if [ "${1:-}" = --kasan ]; then
  run_lessons 6.12-kasan lessons-6.12-kasan.txt no-teardown
  exit 0
fi
if [ "${1:-}" = --runtime ]; then
  run_lessons 6.12 lessons-runtime-6.12.txt mutex-in-top-half sleep-in-tasklet \
    unbounded-drain lock-inversion lost-wakeup leak no-teardown
  run_lessons 7.3 lessons-runtime-7.3.txt no-teardown
  exit 0
fi
kernels=${*:-6.12 7.3}

if ((lessons)); then
  for kv in $kernels; do
    kdir=$(cd "$here" && KERNEL=$kv scripts/build-kernel.sh --print-kdir)
    {
      for name in unsync-counter guard-after-unlock fifo-writer-clone; do
        echo "\$ scripts/lesson.sh run $name"
        (cd "$here" && scripts/lesson.sh --kdir "$kdir" run "$name" 2>&1) |
          sed 's/\x1b\[[0-9;]*m//g; s|/tmp/simrupt-lesson\.[A-Za-z0-9]*|/tmp/simrupt-lesson.XXXXXX|g'
      done
    } > "$out/lessons-$kv.txt"
    echo "wrote $out/lessons-$kv.txt"
  done
  exit 0
fi

. "$here/tests/shell/tmux.sh"
trap tm_stop EXIT
P='(vm) / # '

# vm W CMD [SECS]: type CMD at W's prompt and wait for the next prompt.
vm() {
  local w=$1 cmd=$2 secs=${3:-60} n
  n=$(tm_prompts "$w")
  tm_type "$w" "$cmd"
  tm_wait_prompts "$w" $((n + 1)) "$secs" || echo "capture.sh: no prompt after '$cmd' within ${secs}s" >&2
}

# session: the chapter's commands, unit by unit. Each unit unloads at its end.
session() {
  # Unit 1, the top half. The boot's messages go first, so that dmesg -c
  # shows only what simrupt logs.
  vm one 'dmesg -C'
  vm one 'insmod /simrupt.ko; dmesg -c'
  vm one 'head -c 2 /dev/simrupt > /dev/null; dmesg -c'
  # Unit 1, exercise 1: the timer faster while reading.
  vm one 'simrupt_test rate 2'
  vm one 'echo 10 > /sys/module/simrupt/parameters/delay'
  vm one 'simrupt_test rate 2'
  vm one 'rmmod simrupt; dmesg -C'
  # Unit 1, exercise 2: a refused parameter.
  vm one 'insmod /simrupt.ko timer=timer_list period_us=100'
  vm one 'dmesg -c'
  # Unit 1, exercise 3, and unit 3, exercise 1: bursts.
  vm one 'insmod /simrupt.ko burst=64'
  vm one "head -c 128 /dev/simrupt > /dev/null; dmesg -c | grep -E 'scheduling|moved'"
  vm one 'rmmod simrupt; dmesg -C'

  # Unit 2, the tasklet, then the BH workqueue.
  vm one "insmod /simrupt.ko; head -c 1 /dev/simrupt > /dev/null; dmesg -c | grep -A2 scheduling"
  vm one 'rmmod simrupt; dmesg -C'
  vm one 'insmod /simrupt.ko bottom_half=bh_wq'
  vm one 'head -c 1 /dev/simrupt > /dev/null; dmesg -c'
  vm one 'rmmod simrupt; dmesg -C'

  # Unit 3, the workqueue and its kworkers.
  vm one 'insmod /simrupt.ko delay=10'
  vm one 'head -c 50 /dev/simrupt > /dev/null; dmesg -c | grep simrupt_work_func | tail -n 4'
  vm one 'for p in /proc/[0-9]*; do c=$(cat $p/comm); case $c in *simruptd*) echo $c;; esac; done'
  vm one 'rmmod simrupt; dmesg -C'
  # Unit 3, exercise 1: more than the work item can move.
  vm one 'insmod /simrupt.ko period_us=1000 burst=4096 trace=0'
  vm one 'timeout 3 cat /dev/simrupt | wc -c' 120
  vm one "grep -E '^(produced|delivered|dropped_fast_buf|work_runs):' /sys/kernel/debug/simrupt/stats"
  vm one 'rmmod simrupt; dmesg -c | grep full' 120
  # Unit 3, exercise 2: which CPU runs what.
  vm one 'insmod /simrupt.ko delay=10 trace=0'
  vm one 'head -c 200 /dev/simrupt > /dev/null; grep _cpu /sys/kernel/debug/simrupt/stats'
  vm one 'rmmod simrupt; dmesg -C'

  # Unit 4, bytes waiting in rx_fifo.
  vm one 'insmod /simrupt.ko trace=0'
  vm one 'exec 3< /dev/simrupt; sleep 1; head -n 8 /sys/kernel/debug/simrupt/stats'
  vm one 'head -c 10 <&3; echo'
  vm one 'exec 3<&-; rmmod simrupt; dmesg -C'
  # Unit 4, rx_fifo overflowing.
  vm one 'insmod /simrupt.ko trace=0 period_us=100'
  vm one "exec 3< /dev/simrupt; sleep 2; grep -E '^(produced|delivered|overwritten_kfifo|queued_kfifo|timer_overruns):' /sys/kernel/debug/simrupt/stats; exec 3<&-"
  vm one 'rmmod simrupt; dmesg -c'
  # Unit 4, exercise 2: a sleeping reader (delay=1000: it sleeps for a second).
  vm one 'insmod /simrupt.ko delay=1000 trace=0'
  vm one 'head -c 1 /dev/simrupt > /dev/null & grep State /proc/$!/status; wait'
  vm one 'rmmod simrupt; dmesg -C'
  # Unit 4, exercise 3: a signal during a read.
  vm one 'insmod /simrupt.ko'
  vm one 'simrupt_test signal'

  # Unit 5: the character device (the module from exercise 3 is still loaded).
  vm one 'rmmod simrupt; dmesg -C'
  vm one 'insmod /simrupt.ko; ls -l /dev/simrupt'
  vm one 'head -c 95 /dev/simrupt; echo'
  vm one 'simrupt_test poll'
  vm one 'simrupt_test nonblock'
  vm one 'dmesg -C'
  vm one 'exec 3< /dev/simrupt; exec 4< /dev/simrupt; exec 3<&-; exec 4<&-; dmesg -c | grep cnt'
  # Unit 5, exercise 1: from two shells.
  vm two 'exec 3< /dev/simrupt'
  vm one 'exec 3< /dev/simrupt; exec 3<&-; sleep 1; dmesg -c | grep -E "cnt|enter" | tail -n 3'
  vm two 'exec 3<&-; sleep 1; dmesg -c | grep -E "cnt|enter" | tail -n 3'
  # Unit 5, exercise 3: kmemleak, with the real module.
  vm one 'rmmod simrupt; echo clear > /sys/kernel/debug/kmemleak'
  vm one 'insmod /simrupt.ko; head -c 3 /dev/simrupt > /dev/null; rmmod simrupt'
  vm one 'sleep 6; echo scan > /sys/kernel/debug/kmemleak; echo scan > /sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak; echo "kmemleak: done"' 120
  vm one 'dmesg -C'

  # Unit 6: teardown.
  vm one 'insmod /simrupt.ko'
  vm one 'exec 3< /dev/simrupt; rmmod simrupt; echo "rmmod exit status: $?"'
  vm one 'exec 3<&-; rmmod simrupt; echo "rmmod exit status: $?"'
  vm one 'dmesg -c | grep -v CPU#'
  # Unit 6, exercise 2: the accounting after a period_us=100 run.
  vm one 'insmod /simrupt.ko period_us=100 trace=0'
  vm one 'exec 3< /dev/simrupt; sleep 2; exec 3<&-; rmmod simrupt; dmesg -c | grep unloading'
}

# transcript W: W's screen from its first prompt on, trailing blanks removed.
transcript() {
  tm_screen "$1" | sed -n "/^(vm) \/ # /,\$p" | sed 's/[[:space:]]*$//'
}

for kv in $kernels; do
  echo "capture.sh: Linux $kv: make shell KERNEL=$kv (boot, then $(declare -f session | grep -c '^ *vm ') commands)"
  tm_start one 200 50 "cd '$here' && make shell KERNEL=$kv; echo SHELL-EXITED=\$?; sleep 3600"
  if ! tm_wait one '^\(vm\) / # ' 900; then
    echo "capture.sh: no VM prompt within 900 s:" >&2; tm_screen one | tail -n 20 >&2; exit 1
  fi
  tm_window two "cd '$here' && make shell KERNEL=$kv; echo SECOND-EXITED=\$?; sleep 3600"
  tm_wait two '^\(vm\) / # ' 120 || { echo "capture.sh: no second terminal" >&2; exit 1; }
  session
  {
    echo "# make shell KERNEL=$kv, typed by Documentation/chapter/capture.sh; do not edit."
    echo "# ===== terminal 1"
    transcript one
    echo "# ===== terminal 2 (make shell again, in another terminal)"
    transcript two
  } > "$out/transcript-$kv.txt"
  tm_type two exit
  tm_type one poweroff
  tm_wait one '^SHELL-EXITED=' 60 || tm_key one C-a x
  tm_stop
  echo "capture.sh: wrote $out/transcript-$kv.txt"
done
