# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=no-teardown` (runs as /guest.sh).
. /lib.sh
insmod /simrupt.ko
echo "# reading 4 bytes, then closing: the timer's handle was forgotten"
head -c 4 /dev/simrupt > /dev/null
sleep 0.3
dump_dmesg after-close
echo "# unloading: the device is freed while its timer is still armed"
rmmod simrupt
sleep 2
dump_dmesg after-unload
echo "# lesson: the guest survived"
