# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=sleep-in-tasklet` (runs as /guest.sh).
. /lib.sh
echo "# part 1: lesson_sleep=might: a GFP_KERNEL allocation in the bottom half"
insmod /simrupt.ko lesson_sleep=might
head -c 4 /dev/simrupt > /dev/null
rmmod simrupt
dump_dmesg might
echo "# part 2: lesson_sleep=sleep: msleep(10) in the bottom half"
insmod /simrupt.ko lesson_sleep=sleep
head -c 4 /dev/simrupt > /dev/null
echo "# part 2: still running after the bottom half slept"
rmmod simrupt
dump_dmesg sleep
echo "# lesson: the guest survived"
