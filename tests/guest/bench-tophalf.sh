# SPDX-License-Identifier: GPL-2.0
# Guest side of the top-half comparisons in `make bench`, one boot:
#
#  1. trace on, like for like: the C reference top half (/simrupt_cref.ko),
#     simrupt (/simrupt.ko) with timer=timer_list and with hrtimer, and
#     simrupt's benchmark variants (/simrupt-VARIANT.ko: no-stats,
#     plain-tasklet, no-check, bare), all with bottom_half=tasklet,
#     alternated in ROUNDS rounds of SECS seconds at delay=100. A run's
#     top-half time is its own "timer_handler in_irq: N ns" lines (the span
#     between the two clock reads around process_data, which holds the two
#     inner trace lines, in C and in Rust).
#  2. trace off, against the floor: /floor_hrtimer.ko and /floor_timer_list.ko
#     (callbacks that only re-arm), simrupt, its bare variant and its steps
#     build (the time of each step, see bench_steps.rs) for both timers, and
#     the C reference on both timers and its steps build
#     (/simrupt_cref-steps.ko, see bench/cref/simrupt_cref.c), alternated in
#     OFF_ROUNDS rounds.
#  3. the same comparisons at a period of 1 ms instead of 100 ms: warm.
#
# In every run the timer core's own trace events (timer:hrtimer_expire_*,
# timer:timer_expire_*, irq:tasklet_*) time the whole timer callback and the
# whole tasklet of the module under test, the same way for C and Rust, in
# cycles of the x86-tsc trace clock (TSC-MHZ converts them to ns).
# Output lines:
#   TSC-MHZ|mhz
#   CLOCKSOURCE|the clocksource ktime_get() reads
#   TOPHALF|round|variant|ticks|in_irq median ns|callback median cycles|tasklet median cycles|in_softirq median ns|same-CPU ticks|same-CPU median ns|cross-CPU ticks|cross-CPU median ns
#   FLOOR|round|variant|callbacks|callback median cycles
#   WARM|round|variant|callbacks|callback median cycles (part 3: the same at a
#     period of 1 ms, WARM_ROUNDS rounds of WARM_SECS seconds)
#   STEPS|round|timer|ticks|12 medians, cycles: timer core's entry event to
#     step 0, step 0 to 1, ..., 9 to 10, step 10 to the exit event
#     (/simrupt-steps.ko: trace off, the time of each step of the top half,
#     see bench_steps.rs)
#   CSTEPS|round|timer|ticks|7 medians, cycles: the same for the C reference's
#     steps C0 .. C5 (/simrupt_cref-steps.ko)
#   WSTEPS, WCSTEPS: the same, part 3
# (in_softirq: simrupt's "simrupt_tasklet_func in_softirq" lines; same-/cross-
# CPU: whether the work item of that tick ran on the tasklet's CPU.)
ROUNDS=${ROUNDS:-9}
OFF_ROUNDS=${OFF_ROUNDS:-5}
SECS=${SECS:-5}
WARM_ROUNDS=${WARM_ROUNDS:-3}
WARM_SECS=${WARM_SECS:-2}
T=/sys/kernel/tracing
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'; }
in_irq() { dmesg | sed -n 's/.*timer_handler in_irq: \([0-9]*\) ns$/\1/p'; }

[ -e $T/trace ] || mount -t tracefs nodev $T
echo 0 > $T/tracing_on
echo x86-tsc > $T/trace_clock
echo 2048 > $T/buffer_size_kb
# EXTRA_EVENTS: more events (scripts/bench-tophalf.sh sets
# irq_vectors/local_timer_entry, so that the timer interrupt's first write
# to the trace buffer is not an hrtimer's entry event); the parsing below
# ignores them.
for e in timer/hrtimer_expire_entry timer/hrtimer_expire_exit timer/timer_expire_entry \
    timer/timer_expire_exit irq/tasklet_entry irq/tasklet_exit ${EXTRA_EVENTS:-}; do
  echo 1 > $T/events/$e/enable || echo "SIMRUPT-BENCH-MISSING $e"
done
mhz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\.[0-9]* MHz.*/\1/p' | head -n 1)
[ -n "$mhz" ] || mhz=$(sed -n 's/^cpu MHz[^:]*: \([0-9]*\).*/\1/p' /proc/cpuinfo | head -n 1)
echo "TSC-MHZ|$mhz"
echo "CLOCKSOURCE|$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

# modrange MOD: "lo hi", the loaded module's memory as 16 hex digits, from
# /proc/modules (the test kernel has no kallsyms: its trace events show a
# module's callback as function=0xffffffffa0000000).
modrange() {
  awk -v m="$1" '$1 == m { print $2, $6 }' /proc/modules | while read -r size base; do
    printf '%016x %016x\n' "$base" "$((base + size))"
  done
}
# durations MOD ENTRY EXIT FIELD: from the trace, the cycles between each
# ENTRY event of a callback of module MOD (by name, or by address in
# $RANGE_MOD) and the EXIT event of the same object (FIELD=ptr) on the same
# CPU, one per line.
durations() {
  eval "range=\$RANGE_$1"
  awk -v mod="[$1]" -v en="$2:" -v ex="$3:" -v f="$4=" -v lo="${range% *}" -v hi="${range#* }" '
    function ours(   i, a) {
      if (index($0, mod) > 0) return 1
      for (i = 1; i <= NF; i++) if (index($i, "function=0x") == 1) {
        a = substr($i, 12); while (length(a) < 16) a = "0" a
        return lo != "" && a >= lo && a < hi
      }
      return 0
    }
    /^#/ { next }
    {
      cpu = ""; ev = ""; obj = ""
      for (i = 1; i <= NF; i++) {
        if (cpu == "" && $i ~ /^\[[0-9]+\]$/) cpu = $i
        if ($i == en || $i == ex) { ev = $i; ts = $(i - 1); sub(/:$/, "", ts) }
        if (index($i, f) == 1) obj = substr($i, length(f) + 1)
      }
      if (ev == en && ours()) { start[cpu] = ts; of[cpu] = obj }
      else if (ev == en) delete start[cpu]
      if (ev == ex && (cpu in start) && of[cpu] == obj) {
        if (pairs) print start[cpu], ts; else print ts - start[cpu]
        delete start[cpu]
      }
    }' pairs="${PAIRS:-}" $T/trace
}
# callbacks MOD KIND: the timer callback's cycles (KIND hrtimer or timer_list).
callbacks() {
  if [ "$2" = hrtimer ]; then durations "$1" hrtimer_expire_entry hrtimer_expire_exit hrtimer
  else durations "$1" timer_expire_entry timer_expire_exit timer; fi
}
tasklets() { durations "$1" tasklet_entry tasklet_exit tasklet; }

# steps KIND MOD TAG N: "ticks|d1|...|dN", the median cycles of each step
# of a steps build's top half: /simrupt-steps.ko's (MOD simrupt, TAG
# simrupt-steps, N 12; bench_steps.rs: its "simrupt-steps: TICK S0 .. S10"
# lines at unload) or the C reference's (simrupt_cref, cref-steps, 7), from
# the timer core's entry event before the first step to its exit event after
# the last. A tick whose callback has no entry/exit pair in the trace is left out.
steps() {
  PAIRS=1 callbacks "$2" "$1" > /tmp/pairs
  dmesg | sed -n "s/.*$3: //p" > /tmp/steps
  awk 'NR == FNR { ps[++np] = $1; pe[np] = $2; next }
    { for (i = 1; i <= np; i++) if (ps[i] <= $2 && $NF <= pe[i]) {
        line = $2 - ps[i]
        for (k = 3; k <= NF; k++) line = line " " ($k - $(k - 1))
        print line " " (pe[i] - $NF); break } }' /tmp/pairs /tmp/steps > /tmp/deltas
  printf '%s' "$(wc -l < /tmp/deltas)"
  k=1
  while [ $k -le "$4" ]; do printf '|%s' "$(awk -v k=$k '{ print $k }' /tmp/deltas | median)"; k=$((k + 1)); done
  echo
}

# softirq_split: "same-CPU ticks|median|cross-CPU ticks|median" of simrupt's
# in_softirq times, by whether the k-th work item ran on the k-th tasklet's CPU.
softirq_split() {
  dmesg | awk '
    /simrupt_tasklet_func in_softirq:/ { n++; c = $0; sub(/.*\[CPU#/, "", c); sub(/\].*/, "", c)
      t = $0; sub(/.* in_softirq: /, "", t); sub(/ ns.*/, "", t); tc[n] = c; tt[n] = t }
    /\] simrupt_work_func$/ { m++; c = $0; sub(/.*\[CPU#/, "", c); sub(/\].*/, "", c); wc[m] = c }
    END { for (k = 1; k <= n && k <= m; k++) print (tc[k] == wc[k] ? "same" : "cross"), tt[k] }' > /tmp/split
  for s in same cross; do
    printf '%s|%s' "$(grep -c "^$s " /tmp/split)" "$(sed -n "s/^$s //p" /tmp/split | median)"
    [ $s = same ] && printf '|'
  done
}

trace_start() { dmesg -c > /dev/null; echo > $T/trace; echo 1 > $T/tracing_on; }
trace_stop() { echo 0 > $T/tracing_on; }

# ins MOD KO ARGS...: insmod KO and note module MOD's address range in RANGE_MOD.
ins() {
  m=$1; ko=$2; shift 2
  insmod "$ko" "$@" || return 1
  eval "RANGE_$m=\"$(modrange $m)\""
}
run_simrupt() { # KO TIMER TRACE: one run of simrupt, reading the device so it ticks
  ins simrupt "$1" delay="${DELAY:-100}" timer="$2" bottom_half=tasklet trace="$3" || return 1
  cat /dev/simrupt > /dev/null &
  pid=$!
  sleep "$SECS"
  kill $pid; wait $pid 2>/dev/null
  rmmod simrupt
}

# --- 1. Trace on -----------------------------------------------------------------
r=1
while [ $r -le "$ROUNDS" ]; do
  for v in cref timer_list hrtimer no-stats plain-tasklet no-check bare; do
    trace_start
    case $v in
      cref) ins simrupt_cref /simrupt_cref.ko delay=100 && sleep "$SECS" && rmmod simrupt_cref; mod=simrupt_cref; kind=timer_list ;;
      timer_list | hrtimer) run_simrupt /simrupt.ko $v 1; mod=simrupt; kind=$v ;;
      *) [ -f /simrupt-$v.ko ] || { trace_stop; continue; }
        run_simrupt /simrupt-$v.ko timer_list 1; mod=simrupt; kind=timer_list ;;
    esac
    trace_stop
    split='0|0|0|0'
    [ $mod = simrupt ] && split=$(softirq_split)
    soft=$(dmesg | sed -n 's/.*simrupt_tasklet_func in_softirq: \([0-9]*\) ns$/\1/p' | median)
    echo "TOPHALF|$r|$v|$(in_irq | wc -l)|$(in_irq | median)|$(callbacks $mod $kind | median)|$(tasklets $mod | median)|$soft|$split"
  done
  r=$((r + 1))
done

# --- 2. Trace off, against the floor ---------------------------------------------
# floor_rounds TAG ROUNDS DELAY SECS VARIANTS...: each round runs each variant
# for SECS seconds at a period of DELAY ms and prints TAG|round|variant|...
floor_rounds() {
  tag=$1 rounds=$2 delay=$3 secs=$4; shift 4
  r=1
  while [ $r -le "$rounds" ]; do
    for v in "$@"; do
      trace_start
      case $v in
        floor-*) ins floor_${v#floor-} /floor_${v#floor-}.ko delay=$delay && sleep "$secs" && rmmod floor_${v#floor-}
          mod=floor_${v#floor-}; kind=${v#floor-} ;;
        bare-* | steps-*) [ -f /simrupt-${v%%-*}.ko ] || { trace_stop; continue; }
          DELAY=$delay SECS=$secs run_simrupt /simrupt-${v%%-*}.ko ${v#*-} 0; mod=simrupt; kind=${v#*-} ;;
        cref) ins simrupt_cref /simrupt_cref.ko delay=$delay trace=0 report=0 && sleep "$secs" && rmmod simrupt_cref
          mod=simrupt_cref; kind=timer_list ;;
        cref-hrtimer) ins simrupt_cref /simrupt_cref.ko delay=$delay trace=0 report=0 hrtimer=1 && sleep "$secs" &&
          rmmod simrupt_cref; mod=simrupt_cref; kind=hrtimer ;;
        cref-steps-*) [ -f /simrupt_cref-steps.ko ] || { trace_stop; continue; }
          kind=${v#cref-steps-}
          ins simrupt_cref /simrupt_cref-steps.ko delay=$delay trace=0 report=0 hrtimer=$([ $kind = hrtimer ] && echo 1 || echo 0) &&
            sleep "$secs" && rmmod simrupt_cref; mod=simrupt_cref ;;
        *) DELAY=$delay SECS=$secs run_simrupt /simrupt.ko $v 0; mod=simrupt; kind=$v ;;
      esac
      trace_stop
      callbacks $mod $kind > /tmp/cb
      echo "$tag|$r|$v|$(wc -l < /tmp/cb)|$(median < /tmp/cb)"
      # The steps of the cold part are STEPS and CSTEPS lines, those of the
      # warm part WSTEPS and WCSTEPS.
      w=$([ "$tag" = WARM ] && echo W)
      case $v in
        steps-*) echo "${w}STEPS|$r|$kind|$(steps $kind simrupt simrupt-steps 12)" ;;
        cref-steps-*) echo "${w}CSTEPS|$r|$kind|$(steps $kind simrupt_cref cref-steps 7)" ;;
      esac
    done
    r=$((r + 1))
  done
}
floor_rounds FLOOR "$OFF_ROUNDS" 100 "$SECS" floor-hrtimer hrtimer bare-hrtimer steps-hrtimer cref-hrtimer \
  cref-steps-hrtimer floor-timer_list timer_list bare-timer_list steps-timer_list cref cref-steps-timer_list

# --- 3. The same, warm: a period of 1 ms -----------------------------------------
# At 100 ms every callback starts cold: under QEMU's emulation (TCG) the
# software TLB has been emptied by the context switches in between, and each
# page of code or data the callback touches costs a page walk. At 1 ms, with
# nothing else running, most ticks find them still there: what remains is
# closer to the instructions' own cost.
floor_rounds WARM "$WARM_ROUNDS" 1 "$WARM_SECS" floor-hrtimer hrtimer steps-hrtimer cref-hrtimer \
  cref-steps-hrtimer floor-timer_list timer_list steps-timer_list cref cref-steps-timer_list
dmesg -c > /dev/null
