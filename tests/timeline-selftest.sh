#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the timeline check (scripts/timeline.py --check) on the host:
# it must pass on the committed trace excerpt behind the README's picture
# (Documentation/images/one-tick.trace.txt, 3 ticks) and fail on copies of it
# broken in the ways it is meant to catch. Prints ok/FAIL lines.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
trace=$here/Documentation/images/one-tick.trace.txt
tmp=$(mktemp -d /tmp/simrupt-timeline-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# run NAME FILE: the check's own lines, in $tmp/NAME.out; its exit status.
run() {
  python3 "$here/scripts/timeline.py" --check "$1" --out-dir "$tmp/$1" "$2" > "$tmp/$1.out" 2>&1
}

if run good "$trace"; then echo "ok timeline-selftest-passes ($(grep -c '^ok ' "$tmp/good.out") checks)"
else echo "FAIL timeline-selftest-passes: on $trace: $(grep -v '^ok' "$tmp/good.out" | head -n 2 | tr '\n' ' ')"; fi

# expect_fail NAME CHECK WHAT SED: a broken copy must fail the named check.
expect_fail() {
  sed -E "$4" "$trace" > "$tmp/$1.txt"
  if ! run "$1" "$tmp/$1.txt" && grep -q "^FAIL $1-$2:" "$tmp/$1.out"; then
    echo "ok timeline-selftest-catches-$1 ($3)"
  else
    echo "FAIL timeline-selftest-catches-$1: $3 went unnoticed: $(tr '\n' ' ' < "$tmp/$1.out")"
  fi
}
expect_fail no-work-event stages "workqueue_execute_start removed" '/workqueue_execute_start/d'
expect_fail no-wakeup stages "sched_waking/sched_wakeup removed" '/sched_wak(ing|eup)/d'
expect_fail one-cpu svg "every event moved to CPU 0" 's/\[001\]/[000]/'
expect_fail not-hardirq contexts "the hrtimer callback not in hard IRQ" '/hrtimer_expire_entry/s/ d.h/ d../'
