# SPDX-License-Identifier: GPL-2.0
# In-guest half of the timeline check: for two timer x bottom-half
# combinations, record 2 s of the kernel's own trace events while cat reads
# /dev/simrupt (tests/guest/trace.sh) and print the trace on the console. The
# host (tests/run-all.sh) then runs scripts/timeline.py --check on it: four
# stages in at least three ticks, in the right contexts, and an SVG that shows
# them on at least two CPUs.
. /lib.sh
. /trace.sh

for combo in "hrtimer tasklet" "timer_list bh_wq"; do
  set -- $combo
  label=$1-$2
  if ! insmod /simrupt.ko timer=$1 bottom_half=$2; then
    fail "timeline-load-$label" "insmod failed"; continue
  fi
  trace_ticks "$label" 2 > /tmp/trace.out 2>&1
  cat /tmp/trace.out
  check "timeline-recorded-$label" grep -q '^SIMRUPT-TRACE-END' /tmp/trace.out
  check "timeline-unload-$label" rmmod simrupt
  dump_dmesg "timeline-$label"
done
[ "$failures" -eq 0 ]
