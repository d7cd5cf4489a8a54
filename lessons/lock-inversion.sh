# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=lock-inversion` (runs as /guest.sh).
. /lib.sh
insmod /simrupt.ko
echo "# reading 4 bytes: the work item takes producer_lock, then consumer_lock"
head -c 4 /dev/simrupt > /dev/null
echo "# closed: stop() took consumer_lock, then producer_lock"
rmmod simrupt
dump_dmesg lock-inversion
