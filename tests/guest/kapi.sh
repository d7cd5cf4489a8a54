# SPDX-License-Identifier: GPL-2.0
# In-guest run of kapi's self-tests (tests/kapi/selftest.rs): load the test
# build of the module, which runs them at load time, and turn its log lines
# into check lines. Runs as /guest.sh in the VM (see scripts/vm.sh).
. /lib.sh
kmemleak_start
dmesg -c > /dev/null
check load-selftest-build insmod /simrupt-kapi-selftest.ko
dmesg > /tmp/k
sed -n 's/.*kapi-selftest: \(ok .*\)$/\1/p; s/.*kapi-selftest: \(FAIL .*\)$/\1/p' /tmp/k
grep -q 'kapi-selftest: FAIL' /tmp/k && failures=$((failures + 1))
check selftest-ran-to-the-end grep -q 'kapi-selftest: done' /tmp/k
# Every check of selftest.rs reported (9 of them): none was skipped or lost.
check selftest-all-nine sh -c "test \$(grep -c 'kapi-selftest: ok' /tmp/k) -eq 9"
check selftest-debugfs-dir-gone test ! -e /sys/kernel/debug/simrupt_kapi_selftest
check unload-selftest-build rmmod simrupt
check kmemleak-kapi kmemleak_check
dump_dmesg kapi
exit $failures
