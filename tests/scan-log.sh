#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Scan a guest console log for signs of kernel trouble.
#
#   tests/scan-log.sh [--allow-alloc-failures] LOG
#
# --allow-alloc-failures: for fault-injection runs only. An injected allocation
# failure makes the kernel print its standard report ("vmalloc error: ..." or
# "page allocation failure: ...", then a backtrace): that report is the expected
# result of the injection, so its block (up to the end of its backtrace) is
# not scanned. Everything else still is.
#
# Prints one line per finding, "<category>: <log line>", and exits 1 if there
# is any, 0 if the log is clean. Categories: warning, bug, oops, lockdep,
# atomic-sleep, leak, debugobjects, list-corruption, lockup, context-check,
# invariant (simrupt's own report of a broken internal invariant: a bug),
# kasan (KASAN: a use-after-free or out-of-bounds access, the KASAN test
# kernel), slub-debug (SLUB's own checks, slub_debug=: a red zone or poison
# overwritten, a double free).
#
# A raw trace that tests/guest/trace.sh prints between its SIMRUPT-TRACE-BEGIN
# and SIMRUPT-TRACE-END lines is gzip + base64: random letters, in which
# "Oops" turns up now and then (it did, once, in a make check). Inside such a
# block, lines made only of base64's characters are not scanned; any other
# line there (a kernel message that reached the console) still is.
set -euo pipefail
allow_alloc=0
if [ "${1:-}" = --allow-alloc-failures ]; then allow_alloc=1; shift; fi
log=${1:?usage: scan-log.sh [--allow-alloc-failures] LOG}
filtered=$(mktemp); trap 'rm -f "$filtered"' EXIT
awk -v allow_alloc=$allow_alloc '
  /^SIMRUPT-TRACE-BEGIN / { trace = 1 }
  /^SIMRUPT-TRACE-END / { trace = 0 }
  trace && /^[A-Za-z0-9+\/]+=*\r?$/ { next }
  allow_alloc && /vmalloc error: |page allocation failure: / { skip = 1 }
  !skip { print }
  skip && /<\/TASK>/ { skip = 0 }' "$log" > "$filtered"
log=$filtered

# category<TAB>extended regex; a line may match several categories.
patterns=$(cat <<'PAT'
context-check	simrupt: context check failed
invariant	simrupt: invariant broken
atomic-sleep	sleeping function called from invalid context|scheduling while atomic
lockdep	possible circular locking dependency|possible recursive locking|inconsistent lock state|possible irq lock inversion|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|lock held when returning to user space|BUG: held lock freed|INFO: trying to register non-static key|bad unlock balance
leak	unreferenced object 0x|suspected memory leak
debugobjects	ODEBUG:
kasan	BUG: KASAN: |KASAN: [a-z-]+ in 
slub-debug	BUG [A-Za-z0-9_:.()-]+ \((Not tainted|Tainted: [^)]*)\): |Redzone overwritten|Poison overwritten|Object already free|Freepointer corrupt
list-corruption	list_(add|del) corruption
lockup	soft lockup|hard LOCKUP|rcu.*detected stalls|blocked for more than [0-9]+ seconds
oops	Oops|general protection fault|Kernel panic|kernel BUG at|Unable to handle kernel
bug	BUG:
warning	WARNING:|Call Trace:
PAT
)

found=0
while IFS=$'\t' read -r category regex; do
  while IFS= read -r line; do
    printf '%s: %s\n' "$category" "$line"
    found=1
  done < <(grep -E -- "$regex" "$log" | sort -u | head -n 20 || true)
done <<< "$patterns"
exit "$found"
