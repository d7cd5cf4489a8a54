# SPDX-License-Identifier: GPL-2.0
# Robustness tests (issue 8):
#  - every numeric parameter is parsed as the kernel parses its own `uint`
#    parameters (kstrtouint, base 0), at load time and at run time; booleans
#    as kstrtobool; period_us=00 is 0, also with timer=timer_list;
#  - run-time fault injection (failslab, fail-nth) in the reading task during
#    open/read/poll/close and debugfs/parameter writes, in all four
#    combinations: only ENOMEM or EINTR, nothing lost, the device works after.
# The host scans the log with --allow-alloc-failures (injected failures print
# the allocator's own report).
. /lib.sh
D=/sys/kernel/debug/simrupt
P=/sys/module/simrupt/parameters
kmemleak_start

# --- Parameters at load time: "value" -> what sysfs shows, or "refused" -------
# load_param NAME VALUE EXPECTED [EXTRA]: insmod with EXTRA then NAME=VALUE
# (EXTRA first: `timer=timer_list period_us=00` is checked against timer_list).
load_param() {
  dmesg -c > /dev/null
  if insmod /simrupt.ko $4 "$1=$2" 2>/dev/null; then
    got=$(cat $P/$1); rmmod simrupt
  else
    got=refused; loaded && rmmod simrupt
  fi
  if [ "$got" = "$3" ]; then ok "param-load-$1=$2${4:+-$4}"
  else fail "param-load-$1=$2${4:+-$4}" "got '$got', expected '$3'"; fi
}
load_param delay 20 20
load_param delay +20 20
load_param delay 020 16          # a leading 0 means octal, as for any uint parameter
load_param delay 0x14 20
load_param delay 0X14 20
load_param delay 00020 16
load_param delay 09 refused      # not an octal digit
load_param delay 0x refused
load_param delay -5 refused
load_param delay ++5 refused
load_param delay 5x refused
load_param delay 1.0 refused
load_param delay 4294967296 refused
load_param delay 99999999999999999999 refused
load_param delay 0 refused       # parsed, then out of range
load_param burst +4096 4096
load_param burst 0x1000 4096
load_param burst 0x1001 refused
load_param period_us 00 0
load_param period_us +0 0
load_param period_us 0x0 0
load_param period_us 00 0 timer=timer_list
load_param period_us 0x0 0 timer=timer_list
load_param period_us 0100 64 trace=0
load_param period_us 100 100 trace=0
load_param period_us 100 refused timer=timer_list
# With trace on (the default), a period under 1000 us is refused: four trace
# lines per tick in hard IRQ could not keep up. In either order.
load_param period_us 100 refused
load_param period_us 999 refused trace=1
load_param period_us 1000 1000
load_param trace 1 refused period_us=100
load_param trace 0 N
load_param trace off N
load_param trace on Y
load_param trace yes Y
load_param trace T Y
load_param trace maybe refused
load_param timer timer_list timer_list
load_param timer timer_listx refused

# --- Parameters at run time, the exact bytes written (printf format) -----------
# rt_param NAME FORMAT EXPECTED: write the bytes, then sysfs must show EXPECTED
# (the value before, 7 for delay and burst, if the write must be refused).
rt_param() {
  echo 7 > $P/$1 2>/dev/null
  if printf "$2" > $P/$1 2>/dev/null; then got=$(cat $P/$1); else got="refused,$(cat $P/$1)"; fi
  if [ "$got" = "$3" ]; then ok "param-write-$1=$(printf '%s' "$2" | tr ' ' _)"
  else fail "param-write-$1=$(printf '%s' "$2" | tr ' ' _)" "got '$got', expected '$3'"; fi
}
insmod /simrupt.ko trace=0
rt_param delay '20' 20
rt_param delay '20\n' 20
rt_param delay '+20\n' 20
rt_param delay '020' 16
rt_param delay '0x14\n' 20
rt_param delay '20\n\n' refused,7      # one newline only, as kstrtouint
rt_param delay ' 20' refused,7         # no whitespace, as kstrtouint
rt_param delay '20 ' refused,7
rt_param delay '\t20' refused,7
rt_param delay '20\r\n' refused,7
rt_param delay '\n' refused,7
rt_param delay '+' refused,7
rt_param delay '-0' refused,7
rt_param burst '0x10' 16
rt_param burst '4097' refused,7
rt_param period_us '00' 0
rt_param period_us '00\n' 0
rt_param period_us '+150' 150
rt_param period_us '9' refused,150
# trace cannot be turned on while period_us is under 1000, nor the reverse.
check_not param-write-trace-on-with-period_us-150 sh -c "echo 1 > $P/trace"
check param-write-trace-stays-off test "$(cat $P/trace)" = N
echo 0 > $P/period_us
echo 1 > $P/trace
rt_param period_us '150' refused,0
rt_param period_us '1000' 1000
echo 0 > $P/trace
echo 0 > $P/period_us
rmmod simrupt
insmod /simrupt.ko trace=0 timer=timer_list
rt_param period_us '00\n' 0
rt_param period_us '0x0' 0
rt_param period_us '+0' 0
rt_param period_us '100' refused,0
rmmod simrupt
dump_dmesg params

# --- Run-time fault injection in the reading task -------------------------------
F=/sys/kernel/debug/failslab
echo N > $F/ignore-gfp-wait
echo 0 > $F/verbose
for timer in hrtimer timer_list; do
  for bh in tasklet bh_wq; do
    TAG=$timer-$bh
    if ! insmod /simrupt.ko timer=$timer bottom_half=$bh trace=0 delay=10; then
      fail "failrt-load@$TAG" "insmod failed"; continue
    fi
    echo 0 > $D/stats; echo 0 > $D/latency
    t failrt
    # Nothing lost: idle, the loss equation is exact; the device still works.
    t check-files idle
    t rate 2       # in sequence (a rate check would be timing-sensitive)
    check "failrt-device-works@$TAG" grep -q 'bytes=[1-9]' /tmp/t.out
    check "failrt-unload@$TAG" rmmod simrupt
    dump_dmesg "failrt-$TAG"
  done
done
TAG=
kmemleak_check robust
dump_dmesg end
[ "$failures" -eq 0 ]
