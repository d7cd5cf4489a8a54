# SPDX-License-Identifier: GPL-2.0
# Scanner self-test, guest side: load a deliberately broken module (it leaks a
# KBox and sleeps under a spinlock) and make kmemleak report the leak. The host
# then requires tests/scan-log.sh to find both in this boot's log.
. /lib.sh
kmemleak_start
check load-broken insmod /simrupt_broken.ko
check unload-broken rmmod simrupt_broken
sleep 6
# Twice: see kmemleak_check in lib.sh.
echo scan > /sys/kernel/debug/kmemleak
echo scan > /sys/kernel/debug/kmemleak
cat /sys/kernel/debug/kmemleak
dump_dmesg end
[ "$failures" -eq 0 ]
