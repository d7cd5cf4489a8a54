# SPDX-License-Identifier: GPL-2.0
# KASAN scanner self-test, guest side (KASAN test kernel only): load a
# deliberately broken module that reads freed and out-of-bounds memory from
# Rust. The host then requires tests/scan-log.sh to find both KASAN reports
# in this boot's log, as "kasan" findings.
. /lib.sh
check kasan-enabled sh -c "dmesg | grep -q 'KernelAddressSanitizer initialized'"
check load-uaf insmod /simrupt_uaf.ko
check unload-uaf rmmod simrupt_uaf
dump_dmesg end
[ "$failures" -eq 0 ]
