#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The top half's code stays on its page: a structural check of simrupt.ko,
# no timing.
#
#   tests/hot-path.sh KO
#
# The timer trampolines, with the whole top half inlined into them, and the C
# helpers they call sit in `.text.hot` (kapi.rs, helpers.c), so that a cold
# tick enters one page of the module's code, not several (under emulation
# each page a cold tick enters costs a page walk; Documentation/benchmarks.md).
# A function the compiler decides not to inline moves back to `.text`, and
# nothing fails, only gets slower: this has happened (Histogram::record_step,
# after its min and max updates grew a branch). So every call or jump from
# `.text.hot` must go to the kernel (an undefined symbol), to `.text.hot`
# itself, or to one of the functions allowed below, which are off the
# tasklet path that the benchmarks measure:
#   simrupt_warn: only when a context check fails (a bug);
#   the bottom half as BH work (bottom_half=bh_wq): Arc::from(ArcRef), the
#   kernel crate's enqueue, and the drop of an Arc that was already queued.
# And `.text.hot` must fit in a page (4096 bytes).
#
# Prints "ok hot-path-..." or "FAIL hot-path-...: why".
set -euo pipefail
ko=${1:?usage: tests/hot-path.sh KO}
allowed='^(simrupt_warn|.*4core7convert4FromINtB5_6ArcRef.*|.*9workqueue.*9___enqueue.*|.*4sync3arc.*4Drop4drop.*)$'

# Function symbols defined in the module, and the section of each.
declare -A section
while read -r sec name; do section[$name]=$sec; done < <(
  objdump -t "$ko" | awk '$3 == "F" { print $4, $NF }')

hex=$(objdump -h "$ko" | awk '$2 == ".text.hot" { print $3 }')
size=${hex:+$((16#$hex))}
if [ -z "$size" ]; then echo "FAIL hot-path-section: $ko has no .text.hot"; exit 0; fi
if ((size <= 4096)); then echo "ok hot-path-fits-a-page ($size bytes)"
else echo "FAIL hot-path-fits-a-page: .text.hot is $size bytes"; fi

# Targets of the code relocations in .text.hot (calls and jumps: PLT32).
bad= n=0
while read -r target; do
  n=$((n + 1))
  sec=${section[$target]:-}
  [ -z "$sec" ] && continue                 # the kernel's, or data
  [ "$sec" = .text.hot ] && continue
  grep -qE -- "$allowed" <<< "$target" && continue
  bad="$bad $target ($sec)"
done < <(objdump -dr --section=.text.hot "$ko" |
  awk '$2 == "R_X86_64_PLT32" { sub(/[-+]0x[0-9a-f]+$/, "", $3); print $3 }' | sort -u)
if [ -z "$bad" ]; then echo "ok hot-path-calls-stay ($n call targets: the kernel's or .text.hot's)"
else echo "FAIL hot-path-calls-stay: .text.hot calls the module's code elsewhere:$bad"; fi
