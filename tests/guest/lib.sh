# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the guest test scripts (busybox sh). Each check prints
# exactly one line, "ok NAME" or "FAIL NAME: why"; the host counts them.

failures=0

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

# check NAME COMMAND...: passes if the command exits 0.
check() {
  _name=$1; shift
  if _out=$("$@" 2>&1); then ok "$_name"; else fail "$_name" "$(echo "$_out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_not NAME COMMAND...: passes if the command fails.
check_not() {
  _name=$1; shift
  if _out=$("$@" 2>&1); then fail "$_name" "unexpectedly succeeded: $(echo "$_out" | tail -n 2 | tr '\n' ' ')"; else ok "$_name"; fi
}

# t ARGS...: run the guest test program; it prints its own ok/FAIL lines,
# which get "@$TAG" appended when TAG is set (which combination they ran in).
t() {
  simrupt_test "$@" > /tmp/t.out 2>&1; _rc=$?
  if [ -n "${TAG:-}" ]; then sed -E "s/^(ok|FAIL|SKIP) ([^: ]+)/\\1 \\2@$TAG/" /tmp/t.out; else cat /tmp/t.out; fi
  [ $_rc = 0 ] || failures=$((failures + 1))
}

# Dump and clear the kernel log, so the host sees (and scans) all of it.
dump_dmesg() {
  echo "----- dmesg: $1 -----"
  dmesg -c
  echo "----- end of dmesg: $1 -----"
}

loaded() { grep -q '^simrupt ' /proc/modules; }

# A report from kmemleak after everything is unloaded (kmemleak.rst: clear,
# run the test, scan). Objects younger than 5 s are not reported: wait first.
# Scan twice: kmemleak does not report an object whose contents changed since
# the previous scan (it may be in use), and the first checksum of an object
# always counts as a change (update_checksum() in mm/kmemleak.c).
kmemleak_check() {
  sleep 6
  echo scan > /sys/kernel/debug/kmemleak
  echo scan > /sys/kernel/debug/kmemleak
  _leaks=$(cat /sys/kernel/debug/kmemleak)
  if [ -z "$_leaks" ]; then ok "kmemleak-$1"; else echo "$_leaks"; fail "kmemleak-$1" "kmemleak reports leaks (above)"; fi
}

kmemleak_start() {
  echo clear > /sys/kernel/debug/kmemleak
}
