# SPDX-License-Identifier: GPL-2.0
# Guest side of `make lesson NAME=leak` (runs as /guest.sh).
. /lib.sh
kmemleak_start
insmod /simrupt.ko
echo "# opening /dev/simrupt twice: each open allocates a record that is never freed"
head -c 2 /dev/simrupt > /dev/null
head -c 2 /dev/simrupt > /dev/null
echo "# waiting 6 s (kmemleak ignores younger objects), then scanning twice"
sleep 6
echo scan > /sys/kernel/debug/kmemleak
echo scan > /sys/kernel/debug/kmemleak
echo "----- /sys/kernel/debug/kmemleak -----"
cat /sys/kernel/debug/kmemleak
echo "----- end of /sys/kernel/debug/kmemleak -----"
# Unloaded only now, so that the report's backtraces still name the module's functions.
rmmod simrupt
dump_dmesg leak
