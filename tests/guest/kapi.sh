# SPDX-License-Identifier: GPL-2.0
# In-guest run of kapi's self-tests (tests/kapi/selftest.rs): load the test
# build of the module, which runs them at load time, and turn its log lines
# into check lines; then the teardown cases, driven from user space
# (simrupt_test kapi-teardown). Runs as /guest.sh in the VM (see scripts/vm.sh).
. /lib.sh
kmemleak_start
dmesg -c > /dev/null
check load-selftest-build insmod /simrupt-kapi-selftest.ko
dmesg > /tmp/k
sed -n 's/.*kapi-selftest: \(ok .*\)$/\1/p; s/.*kapi-selftest: \(FAIL .*\)$/\1/p' /tmp/k
grep -q 'kapi-selftest: FAIL' /tmp/k && failures=$((failures + 1))
check selftest-ran-to-the-end grep -q 'kapi-selftest: done' /tmp/k
grep 'kapi-selftest: # ' /tmp/k | sed 's/.*kapi-selftest: /# /'
# Every check of selftest.rs reported (17 of them): none was skipped or lost.
check selftest-all-seventeen sh -c "test \$(grep -c 'kapi-selftest: ok' /tmp/k) -eq 17"
check selftest-debugfs-dir-gone test ! -e /sys/kernel/debug/simrupt_kapi_selftest
# File::is_nonblocking sees fcntl(F_SETFL) from another task during a read.
t kapi-nonblock
# The teardown cases: a registration, a debugfs directory and a wait queue
# that epoll waits on, dropped while user space holds their files open.
check teardown-device-node-there test -c /dev/simrupt_kst
t kapi-teardown
dmesg > /tmp/k
# In this order: the drop, the program's last close, then the device's free.
line_of() { grep -n -m1 -e "$1" /tmp/k | cut -d: -f1; }
dropped=$(line_of 'teardown dropped=true')
closing=$(line_of 'kapi-teardown: closing the files')
freed=$(line_of 'teardown device freed')
echo "# log lines: dropped=$dropped closing=$closing freed=$freed"
check teardown-device-freed-after-last-close \
  test "${dropped:-0}" -gt 0 -a "${closing:-0}" -gt "${dropped:-0}" -a "${freed:-0}" -gt "${closing:-0}"
check teardown-debugfs-dir-gone test ! -e /sys/kernel/debug/simrupt_kst
check unload-selftest-build rmmod simrupt
# Once more with timer=timer_list: every self-test again, and this time the
# gate of the hrtimer, the kind not chosen (the first load ran the
# timer_list's). Only the gate's line and the count become checks here.
dump_dmesg kapi-hrtimer-load
check load-selftest-build-timer-list insmod /simrupt-kapi-selftest.ko timer=timer_list
dmesg > /tmp/k
sed -n 's/.*kapi-selftest: FAIL \([^:]*\):/FAIL \1@timer_list-load:/p' /tmp/k
grep -q 'kapi-selftest: FAIL' /tmp/k && failures=$((failures + 1))
check selftest-timer-list-load-gate-hrtimer grep -q 'kapi-selftest: ok simrupt-timer-kind-gate-hrtimer$' /tmp/k
check selftest-timer-list-load-all-seventeen sh -c "test \$(grep -c 'kapi-selftest: ok' /tmp/k) -eq 17"
check unload-selftest-build-timer-list rmmod simrupt
check kmemleak-kapi kmemleak_check
dump_dmesg kapi
exit $failures
