# SPDX-License-Identifier: GPL-2.0
# Stress tests, in all four timer x bottom-half combinations (issue 8):
#  - fill: rx_fifo, fast_buf and the rx_times path past capacity, then read
#    in one go and in small reads; every histogram count against delivered,
#    the loss equation exact, no broken invariant;
#  - race: resets of stats and latency racing a real-time reader on the same
#    CPU, a reader and a renderer; every rendering consistent, the equation
#    exact after all the resets;
#  - soak: readers of every kind, an open/close storm, readers killed
#    mid-read, run-time parameter writes (valid and garbage), rmmod attempts;
#    then exact accounting, a clean unload, kmemleak clean.
# The host scans the whole console log (WARNING, BUG, invariant broken...).
. /lib.sh
D=/sys/kernel/debug/simrupt
P=/sys/module/simrupt/parameters
RACE_S=${RACE_S:-8}
SOAK_S=${SOAK_S:-40}
kmemleak_start

for timer in hrtimer timer_list; do
  for bh in tasklet bh_wq; do
    echo "# combination timer=$timer bottom_half=$bh"
    TAG=$timer-$bh
    if ! insmod /simrupt.ko timer=$timer bottom_half=$bh trace=0 delay=10; then
      fail "stress-load-$TAG" "insmod failed"; continue
    fi

    # --- fill both fifos past capacity, read in one go, then in small reads
    for bs in 65536 7; do
      echo 0 > $D/stats; echo 0 > $D/latency     # idle: an exact start
      exec 3</dev/simrupt
      echo 4096 > $P/burst; sleep 0.3            # fast_buf overflows (drops)
      echo 512 > $P/burst; sleep 0.6             # rx_fifo overflows (overwrites)
      echo 1 > $P/burst; echo 1000 > $P/delay    # nearly quiet while draining
      t drain $bs
      exec 3<&-
      echo 10 > $P/delay
      got=$(sed -n 's/^drained=//p' /tmp/t.out)
      check "fill-bs$bs-both-fifos-overflowed@$TAG" sh -c "grep -q '^overwritten_kfifo: [1-9]' $D/stats && grep -q '^dropped_fast_buf: [1-9]' $D/stats"
      check "fill-bs$bs-read-a-full-rx_fifo@$TAG" test "${got:-0}" -ge 4096
      t check-files idle-reset
    done
    echo 0 > $D/stats; echo 0 > $D/latency

    # --- resets racing readers, renderers and the pipeline at a high rate
    echo 16 > $P/burst
    if [ $timer = hrtimer ]; then echo 100 > $P/period_us; else echo 1 > $P/delay; fi
    t race "$RACE_S"
    echo 0 > $P/period_us 2>/dev/null; echo 1 > $P/burst; echo 10 > $P/delay

    # --- soak
    echo 0 > $D/stats; echo 0 > $D/latency
    t soak "$SOAK_S" $timer
    check "soak-unload@$TAG" rmmod simrupt
    check_not "soak-gone@$TAG" loaded
    dump_dmesg "stress-$TAG"
  done
done
TAG=
kmemleak_check stress
dump_dmesg end
[ "$failures" -eq 0 ]
