# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench`: push the pipeline at shorter and shorter periods
# and report, per bottom half and period, what one reader receives, what is
# lost, and the four latency distributions. Output lines start with "BENCH|".
D=/sys/kernel/debug/simrupt
SECS=${SECS:-3}
load_stats() { eval "$(sed -n 's/^\([a-z_0-9]*\): \([0-9]*\)$/\1=\2/p' $D/stats)"; }
# "median/p99" of a histogram, in ns.
lat() { grep "^$1: count" $D/latency | awk '{ print $7 "/" $9 }'; }

echo "BENCH|bottom half|period (us)|target (ev/s)|delivered (B/s)|produced|dropped|overwritten|overruns|top half med/p99 (ns)|top->bottom med/p99 (ns)|bottom->work med/p99 (ns)|produce->read med/p99 (ns)"
for bh in tasklet bh_wq; do
  for us in 100000 10000 1000 500 200 100 50; do
    insmod /simrupt.ko trace=0 bottom_half=$bh period_us=$us || continue
    echo reset > $D/stats; echo reset > $D/latency
    out=$(simrupt_test rate $SECS)
    rate=$(echo "$out" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
    load_stats
    echo "BENCH|$bh|$us|$((1000000 / us))|$rate|$produced|$dropped_fast_buf|$overwritten_kfifo|$timer_overruns|$(lat top_half)|$(lat top_to_bottom_half)|$(lat bottom_half_to_work)|$(lat produce_to_read)"
    rmmod simrupt
  done
done

# The cost of tracing in the top half: the same load with trace on and off.
# (The console shows only warnings here, so a trace line costs a printk into
# the log buffer, not a write to the serial console, which costs far more.)
echo "BENCH-TRACE|trace|top half median (ns)|top half p99 (ns)|ticks"
for trace in 0 1; do
  insmod /simrupt.ko trace=$trace delay=10
  echo reset > $D/latency
  simrupt_test rate 2 > /dev/null
  echo "BENCH-TRACE|$trace|$(grep '^top_half: count' $D/latency | awk '{ print $7 "|" $9 "|" $3 }')"
  rmmod simrupt
done
dmesg -c > /dev/null
