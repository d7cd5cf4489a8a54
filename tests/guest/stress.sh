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
RACE_S=${RACE_S:-6}
SOAK_S=${SOAK_S:-40}
PARTS=${PARTS:-fill race soak}     # which parts to run (all by default)
MODES=${MODES:-hrtimer-tasklet hrtimer-bh_wq timer_list-tasklet timer_list-bh_wq}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
kmemleak_start

for timer in hrtimer timer_list; do
  for bh in tasklet bh_wq; do
    TAG=$timer-$bh
    case " $MODES " in *" $TAG "*) ;; *) continue ;; esac
    echo "# combination timer=$timer bottom_half=$bh"
    if ! insmod /simrupt.ko timer=$timer bottom_half=$bh trace=0 delay=10; then
      fail "stress-load-$TAG" "insmod failed"; continue
    fi

    # --- fill both fifos past capacity, read in one go, then in small reads
    part fill && for bs in 65536 7; do
      echo 0 > $D/stats; echo 0 > $D/latency     # idle: an exact start
      exec 3</dev/simrupt
      echo 4096 > $P/burst; sleep 0.3            # fast_buf overflows (drops)
      echo 512 > $P/burst; sleep 0.6             # rx_fifo overflows (overwrites)
      echo 1 > $P/burst; echo 1000 > $P/delay    # nearly quiet while draining
      # Let the work item move fast_buf's backlog first: into a full rx_fifo
      # each byte goes in only after the oldest made room, and a read between
      # the two finds 4095 bytes (nothing lost; one make check caught it).
      i=0
      while ! grep -q '^queued_fast_buf: 0$' $D/stats && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
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
    # Fast: many records and resets. Slow: each read records a burst of 64
    # values, and a histogram a reset left inconsistent stays so until the
    # next read, long enough for the renderer to find it.
    part race && for rate in fast slow; do
      case $timer-$rate in
        hrtimer-fast) echo 16 > $P/burst; echo 100 > $P/period_us ;;
        hrtimer-slow) echo 64 > $P/burst; echo 2000 > $P/period_us ;;
        timer_list-fast) echo 16 > $P/burst; echo 1 > $P/delay ;;
        timer_list-slow) echo 64 > $P/burst; echo 4 > $P/delay ;;
      esac
      TAG=$timer-$bh-$rate t race "$RACE_S"
      echo 0 > $P/period_us 2>/dev/null; echo 1 > $P/burst; echo 10 > $P/delay
    done

    # --- soak
    echo 0 > $D/stats; echo 0 > $D/latency
    part soak && t soak "$SOAK_S" $timer
    check "soak-unload@$TAG" rmmod simrupt
    check_not "soak-gone@$TAG" loaded
    dump_dmesg "stress-$TAG"
  done
done
TAG=
kmemleak_check stress
dump_dmesg end
[ "$failures" -eq 0 ]
