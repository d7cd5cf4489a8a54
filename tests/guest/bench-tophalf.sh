# SPDX-License-Identifier: GPL-2.0
# Guest side of the top-half comparison in `make bench`: the C reference top
# half (/simrupt_cref.ko), simrupt before the printk change
# (/simrupt-before.ko) and simrupt now (/simrupt.ko), alternated in one boot,
# ROUNDS rounds of SECS seconds each at delay=100 with trace on. Each run's
# top-half times come from its own "timer_handler in_irq: N ns" lines.
# Output: "TOPHALF|round|variant|ticks|median ns" lines, then trace-off runs
# of simrupt now ("TOPHALF-OFF|timer|ticks|median ns" from the latency histogram).
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-6}
D=/sys/kernel/debug/simrupt
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'; }
in_irq() { dmesg | sed -n 's/.*timer_handler in_irq: \([0-9]*\) ns$/\1/p'; }

run_simrupt() { # KO TIMER: one run of simrupt, reading the device so it ticks
  insmod "$1" delay=100 timer="$2" || return 1
  cat /dev/simrupt > /dev/null &
  pid=$!
  sleep "$SECS"
  kill $pid; wait $pid 2>/dev/null
  rmmod simrupt
}

r=1
while [ $r -le "$ROUNDS" ]; do
  for v in cref before-timer_list now-timer_list before-hrtimer now-hrtimer; do
    dmesg -c > /dev/null
    case $v in
      cref) insmod /simrupt_cref.ko delay=100 && sleep "$SECS" && rmmod simrupt_cref ;;
      before-*) [ -f /simrupt-before.ko ] || continue; run_simrupt /simrupt-before.ko "${v#before-}" ;;
      now-*) run_simrupt /simrupt.ko "${v#now-}" ;;
    esac
    echo "TOPHALF|$r|$v|$(in_irq | wc -l)|$(in_irq | median)"
  done
  r=$((r + 1))
done

# Trace off. The C reference still logs its in_irq line, outside the timed
# span; simrupt logs nothing, so its time is the median of the top_half
# histogram (a log2 bucket, interpolated: coarser).
dmesg -c > /dev/null
insmod /simrupt_cref.ko delay=100 trace=0 && sleep $((SECS * 2)) && rmmod simrupt_cref
echo "TOPHALF-OFF|cref (timer_list)|$(in_irq | wc -l)|$(in_irq | median)"
for timer in timer_list hrtimer; do
  insmod /simrupt.ko delay=100 timer=$timer trace=0
  echo reset > $D/latency
  cat /dev/simrupt > /dev/null &
  pid=$!
  sleep $((SECS * 2))
  kill $pid; wait $pid 2>/dev/null
  echo "TOPHALF-OFF|$timer|$(grep '^top_half: count' $D/latency | awk '{ print $3 "|" $7 }')"
  rmmod simrupt
done
dmesg -c > /dev/null
