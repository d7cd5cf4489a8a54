#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The top half's code stays on its page: a structural check of simrupt.ko,
# no timing.
#
#   tests/hot-path.sh KO
#
# The timer trampolines, with the whole top half inlined into them, and the C
# helpers they call (marked __hot_helper in helpers.c) are put in `.text.hot`,
# which kapi.rs aligns to a page, so that a cold tick enters one page of the
# module's code, not several (under emulation each page a cold tick enters
# costs a page walk; Documentation/benchmarks.md). Linux 6.12's module
# linker script keeps `.text.hot` a section of its own; 7.3's merges it into
# `.text`, where it stays one page-aligned block. So the hot functions are
# found by name, wherever they are.
#
# A function the compiler decides not to inline is compiled out of line,
# outside the block, and nothing fails, a tick only gets slower: this has
# happened (Histogram::record_step, after its min and max updates grew a
# branch). So every call or jump from a hot function must go to the kernel
# (an undefined symbol), to a hot function, or to one of the functions
# allowed below, which are off the tasklet path that the benchmarks measure:
#   simrupt_warn: only when a context check fails (a bug);
#   the bottom half as BH work (bottom_half=bh_wq): Arc::from(ArcRef), the
#   kernel crate's enqueue, and the drop of an Arc that was already queued.
# And the hot functions must lie within one page.
#
# Prints "ok hot-path-..." or "FAIL hot-path-...: why".
set -euo pipefail
ko=${1:?usage: tests/hot-path.sh KO}
here=$(cd "$(dirname "$0")/.." && pwd)
allowed='^(simrupt_warn|.*4core7convert4FromINtB5_6ArcRef.*|.*9workqueue.*9___enqueue.*|.*4sync3arc.*4Drop4drop.*)$'
[ -f "$ko" ] || { echo "FAIL hot-path-found: no $ko"; exit 0; }

# The hot functions: kapi's two timer callbacks and the __hot_helper helpers.
helpers=$(sed -n 's/^__hot_helper .*[ *]\([a-z_0-9]*\)(.*/\1/p' "$here/helpers.c" | paste -sd'|')
hot_re="^(.*kapi7hrtimer.*8callback.*|.*kapi10timer_list.*8callback.*|$helpers)\$"
# "section start size name" of each function symbol defined in the module.
objdump -t "$ko" | awk '$3 == "F" { print $4, $1, $5, $NF }' > /tmp/hot-path-syms.$$
trap 'rm -f /tmp/hot-path-syms.$$' EXIT
hot=$(awk -v re="$hot_re" '{ n = $4; sub(/^__pfx_/, "", n) } n ~ re' /tmp/hot-path-syms.$$)
want=$((2 + $(tr '|' '\n' <<< "$helpers" | grep -c .)))
found=$(grep -vc ' __pfx_' <<< "$hot" || true)
if [ "$found" -ne "$want" ]; then
  echo "FAIL hot-path-found: $found of the $want hot functions in $ko"; exit 0
fi
sections=$(awk '{ print $1 }' <<< "$hot" | sort -u)
if [ "$(wc -l <<< "$sections")" -ne 1 ]; then
  echo "FAIL hot-path-fits-a-page: the hot functions are in several sections: $(echo $sections)"; exit 0
fi
sec=$sections
# Their span, in the section (which must be page-aligned: 2**12).
lo= hi=
while read -r _ a z _; do
  if [ -z "$lo" ] || ((16#$a < lo)); then lo=$((16#$a)); fi
  if [ -z "$hi" ] || ((16#$a + 16#$z > hi)); then hi=$((16#$a + 16#$z)); fi
done <<< "$hot"
align=$(objdump -h "$ko" | awk -v s="$sec" '$2 == s { print $7 }')
if [ "$align" = "2**12" ] && ((lo / 4096 == (hi - 1) / 4096)); then
  echo "ok hot-path-fits-a-page ($found functions, $((hi - lo)) bytes at $sec+$(printf '%#x' "$lo"))"
else
  echo "FAIL hot-path-fits-a-page: $sec+$(printf '%#x' "$lo")..$(printf '%#x' "$hi") (section aligned $align)"
fi

# Every call and jump inside them: its relocation's symbol, or (a target the
# assembler resolved itself) the function it lands in.
bad= n=0
while read -r target; do
  n=$((n + 1))
  line=$(awk -v t="$target" '$4 == t' /tmp/hot-path-syms.$$ | head -n 1)
  [ -n "$line" ] || continue                          # the kernel's
  [[ $target =~ $hot_re ]] && continue
  [[ $target =~ $allowed ]] && continue
  bad="$bad $target"
done < <(objdump -dr --no-show-raw-insn -j "$sec" \
    --start-address="$lo" --stop-address="$hi" "$ko" | awk '
  function flush() { if (pending != "") print pending; pending = "" }
  /R_X86_64_(PLT32|PC32)/ && pending != "" { t = $3; sub(/[-+]0x[0-9a-f]+$/, "", t); print t; pending = ""; next }
  { flush() }
  /\t(call|jmp)[a-z]* +[0-9a-f]+ </ {
    t = $0; sub(/.*</, "", t); sub(/>.*/, "", t); sub(/\+0x[0-9a-f]+$/, "", t); pending = t }
  END { flush() }' | sed 's/^__pfx_//' | sort -u)
if [ -z "$bad" ]; then echo "ok hot-path-calls-stay ($n call targets: the kernel's or the hot functions')"
else echo "FAIL hot-path-calls-stay: hot code calls the module's code elsewhere:$bad"; fi
