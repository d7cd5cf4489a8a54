# SPDX-License-Identifier: GPL-2.0
# In-guest tests of what simrupt measures: /sys/kernel/debug/simrupt/{stats,latency},
# the loss equation under both kinds of overflow, histogram sanity, and the
# runtime parameters (delay, period_us, burst).
. /lib.sh
D=/sys/kernel/debug/simrupt
P=/sys/module/simrupt/parameters
kmemleak_start

# Loads the counters of the stats file as shell variables.
load_stats() { eval "$(sed -n 's/^\([a-z_0-9]*\): \([0-9]*\)$/\1=\2/p' $D/stats)"; }

# The loss equation; only exact when the device is idle (closed).
equation() {
  load_stats
  rhs=$((delivered + dropped_fast_buf + overwritten_kfifo + queued_fast_buf + queued_kfifo))
  echo "# produced=$produced delivered=$delivered dropped_fast_buf=$dropped_fast_buf overwritten_kfifo=$overwritten_kfifo queued=$queued_fast_buf+$queued_kfifo"
  [ "$produced" -gt 0 ] && [ "$produced" = "$rhs" ]
}

# Histogram line fields: "<name>: count N min A median B p99 C max D mean E (ns)".
hist() { grep "^$1: count" $D/latency; }
hist_field() { hist "$1" | awk -v f="$2" '{ for (i = 2; i < NF; i++) if ($i == f) print $(i + 1) }'; }
sane_hist() { # count > 0 and min <= median <= p99 <= max
  hist "$1" | awk '{ c=$3; mi=$5; me=$7; p=$9; ma=$11
    exit !(c > 0 && mi <= me && me <= p && p <= ma) }'
}

insmod /simrupt.ko delay=10 trace=0
check stats-names sh -c "for n in produced delivered dropped_fast_buf overwritten_kfifo queued_fast_buf queued_kfifo timer_overruns bottom_half_runs work_runs work_runs_empty top_half_cpu0 bottom_half_cpu0 work_cpu0 top_half_cpu1; do grep -q \"^\$n: [0-9]*\$\" $D/stats || { echo missing \$n; exit 1; }; done"
check latency-names sh -c "for n in top_half top_to_bottom_half bottom_half_to_work produce_to_read; do grep -q \"^\$n: count \" $D/latency || { echo missing \$n; exit 1; }; done"
check_not stats-write-rejects-junk sh -c "echo junk > $D/stats"

# --- Counts that must match exactly, from an idle reset --------------------
echo reset > $D/stats; echo reset > $D/latency
# Open, read 60 bytes, close: idle again. One byte per read(): `head -c 60`
# reads through stdio's buffer, and when more than one byte is waiting
# (a reader a tick late, on a loaded host) it takes them all and prints 60,
# so `delivered` is more than 60 (63 with burst=7); seen once in a fresh
# Debian 13 root's make check, 2026-12-08.
dd if=/dev/simrupt of=/dev/null bs=1 count=60 2>/dev/null
load_stats
check counts-exact-after-reset sh -c "echo produced=$produced delivered=$delivered; test $produced -ge 60 && test $delivered = 60"
check top-half-count-is-ticks test "$(hist_field top_half count)" = "$produced"
check produce-to-read-count-is-delivered test "$(hist_field produce_to_read count)" = "$delivered"
for h in top_half top_to_bottom_half bottom_half_to_work produce_to_read; do
  check "hist-sane-$h" sane_hist $h
done
bh_count=$(hist_field top_to_bottom_half count)
check top-to-bottom-count-le-runs test "$bh_count" -le "$bottom_half_runs"
check equation-normal equation
check latency-bar-chart grep -q '#' $D/latency
cat $D/latency

# --- Overflow 1: a reader that does not read (rx_fifo overwrites the oldest) --
echo 64 > $P/burst                       # 6400 bytes/s into a 4096-byte kfifo
exec 3</dev/simrupt; sleep 1.5; exec 3<&-
load_stats
check overwrite-counted test "$overwritten_kfifo" -gt 0
check equation-kfifo-overflow equation
check overwrite-logged sh -c "dmesg | grep -q 'rx_fifo full: oldest byte overwritten [0-9]* times'"
# The newest bytes survived: draining gives an in-sequence run ending the stream.
check drain-after-overwrite simrupt_test nonblock

# --- Overflow 2: the top half outruns the work item (fast_buf drops) ------
# 4096 bytes every 10 ms is more than the work item moves on this machine.
echo 4096 > $P/burst
exec 3</dev/simrupt; sleep 0.5; exec 3<&-
load_stats
check drop-counted test "$dropped_fast_buf" -gt 0
check equation-fast_buf-overflow equation
check drop-logged sh -c "dmesg | grep -q 'fast_buf full: .* bytes dropped'"
echo 1 > $P/burst
rmmod simrupt
dump_dmesg overflow

# --- Runtime parameters -----------------------------------------------------
insmod /simrupt.ko delay=200 trace=0
slow=$(simrupt_test rate 2 | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
check delay-writable sh -c "echo 20 > $P/delay && test \$(cat $P/delay) = 20"
fast=$(simrupt_test rate 2 | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
echo "# delay 200 ms: $slow bytes in 2 s; delay 20 ms: $fast bytes in 2 s"
check delay-change-takes-effect sh -c "test '$slow' -gt 0 && test '$fast' -ge $((slow * 4))"
check period_us-writable sh -c "echo 2000 > $P/period_us && test \$(cat $P/period_us) = 2000"
us=$(simrupt_test rate 2 | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
echo "# period_us 2000: $us bytes in 2 s"
# 10x the ticks of delay=20; under a loaded host TCG delivers far fewer
# (308 vs 83 seen), so only 2x is required: still proof the period changed.
check period_us-takes-effect test "$us" -ge $((fast * 2))
check period_us-off sh -c "echo 0 > $P/period_us"
check burst-writable sh -c "echo 4 > $P/burst && test \$(cat $P/burst) = 4"
# `rate` also fails on any break in the sequence.
b4=$(simrupt_test rate 2 | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
echo "# delay 20 ms, burst 4: $b4 bytes in 2 s"
check burst-takes-effect test "$b4" -ge $((fast * 3))
echo 1 > $P/burst
for bad in "delay 0" "delay 10001" "delay x" "period_us 9" "period_us 1000001" "burst 0" "burst 4097"; do
  set -- $bad
  check_not "runtime-reject-$1=$2" sh -c "echo $2 > $P/$1"
done
check runtime-values-kept sh -c "test \"\$(cat $P/delay) \$(cat $P/period_us) \$(cat $P/burst)\" = '20 0 1'"
check trace-off-no-printk sh -c "dmesg -c >/dev/null; test \$(head -c 5 /dev/simrupt | wc -c) = 5 && ! dmesg | grep -q 'CPU#'"
rmmod simrupt
check_not reject-period_us-with-timer_list insmod /simrupt.ko timer=timer_list period_us=100
check_not debugfs-gone-after-unload test -e $D

kmemleak_check measure
dump_dmesg end
[ "$failures" -eq 0 ]
