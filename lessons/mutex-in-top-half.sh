# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=mutex-in-top-half` (runs as /guest.sh).
. /lib.sh
insmod /simrupt.ko
echo "# reading 4 bytes: each tick's top half now takes producer_lock"
head -c 4 /dev/simrupt > /dev/null
rmmod simrupt
dump_dmesg mutex-in-top-half
