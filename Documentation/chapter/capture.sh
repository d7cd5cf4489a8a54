# SPDX-License-Identifier: GPL-2.0
# Guest script that produces every output shown in the chapter
# (Documentation/chapter/), from the current code:
#   scripts/vm.sh --log /tmp/chapter.log Documentation/chapter/capture.sh tests/guest/lib.sh
# Each unit's output is between "===== UNIT name" and the next marker.
. /lib.sh
unit() { echo "===== UNIT $1"; }
dmesg -c > /dev/null

unit load
insmod /simrupt.ko
dmesg -c
ls -l /dev/simrupt
cat /sys/module/simrupt/parameters/delay /sys/module/simrupt/parameters/timer /sys/module/simrupt/parameters/bottom_half

unit top-half
head -c 2 /dev/simrupt > /dev/null
dmesg -c

unit first-bytes
head -c 95 /dev/simrupt; echo

unit bh-wq
rmmod simrupt; dmesg -c > /dev/null
insmod /simrupt.ko bottom_half=bh_wq
head -c 1 /dev/simrupt > /dev/null
dmesg -c

unit timer-list
rmmod simrupt; dmesg -c > /dev/null
insmod /simrupt.ko timer=timer_list
head -c 1 /dev/simrupt > /dev/null
dmesg -c

unit workqueue
rmmod simrupt; dmesg -c > /dev/null
insmod /simrupt.ko delay=10
head -c 50 /dev/simrupt > /dev/null
dmesg -c | grep -E 'simrupt_work_func' | head -n 6
for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null); case $c in *simruptd*) echo "$c";; esac; done

unit kfifo
rmmod simrupt; dmesg -c > /dev/null
insmod /simrupt.ko trace=0
exec 3< /dev/simrupt
sleep 1
cat /sys/kernel/debug/simrupt/stats | head -n 8
head -c 10 <&3; echo
exec 3<&-
dmesg -c

unit chardev
simrupt_test poll
simrupt_test nonblock
simrupt_test signal
exec 3< /dev/simrupt
exec 4< /dev/simrupt
exec 3<&-
exec 4<&-
dmesg -c

unit teardown
exec 3< /dev/simrupt
rmmod simrupt; echo "rmmod exit status: $?"
exec 3<&-
rmmod simrupt; echo "rmmod exit status: $?"
dmesg -c
# --- Exercises: what each unit's exercises tell the learner to observe ------
unit ex-period-us-timer-list
insmod /simrupt.ko timer=timer_list period_us=100; echo "insmod exit status: $?"
dmesg -c

unit ex-delay-rate
insmod /simrupt.ko trace=0
simrupt_test rate 2
echo 10 > /sys/module/simrupt/parameters/delay
simrupt_test rate 2
rmmod simrupt; dmesg -c > /dev/null

unit ex-unsafe-param
insmod /simrupt.ko delay=0; echo "insmod exit status: $?"
dmesg -c

unit ex-burst
insmod /simrupt.ko burst=64
head -c 128 /dev/simrupt > /dev/null
dmesg -c | grep -E 'moved|scheduling' | head -n 6
rmmod simrupt; dmesg -c > /dev/null

unit ex-bounded
insmod /simrupt.ko period_us=1000 burst=4096 trace=0
echo "bytes read in 3 s: $(timeout 3 cat /dev/simrupt | wc -c)"
grep -E '^(produced|delivered|dropped_fast_buf|overwritten_kfifo|work_runs):' /sys/kernel/debug/simrupt/stats
rmmod simrupt; dmesg -c | grep -v 'CPU#'

unit ex-overflow
insmod /simrupt.ko trace=0 period_us=100
exec 3< /dev/simrupt
sleep 2
grep -E '^(produced|delivered|dropped_fast_buf|overwritten_kfifo|queued_kfifo):' /sys/kernel/debug/simrupt/stats
exec 3<&-
dmesg -c
rmmod simrupt; dmesg -c > /dev/null

unit ex-cpus
insmod /simrupt.ko delay=10 trace=0
head -c 200 /dev/simrupt > /dev/null
grep -E '_cpu[0-9]+:' /sys/kernel/debug/simrupt/stats
rmmod simrupt; dmesg -c > /dev/null

unit ex-kmemleak
kmemleak_start
insmod /simrupt.ko
head -c 3 /dev/simrupt > /dev/null
rmmod simrupt
kmemleak_check chapter
unit end
