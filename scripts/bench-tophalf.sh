#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Part 3 of `make bench`: simrupt's top half against a C reference top half
# (bench/cref), trace on, like for like; its benchmark variants (Kbuild's
# BENCH_VARIANT: no-stats, plain-tasklet, no-check, bare); and, trace off,
# against the floor (bench/floor: timer callbacks that only re-arm), with
# simrupt's steps build and the C reference's side by side. One VM
# boot per kernel (tests/guest/bench-tophalf.sh); benchmarks, not tests.
#
#   scripts/bench-tophalf.sh --kdir KDIR     the project's test kernel in KDIR
#   scripts/bench-tophalf.sh --native        Debian 13's stock kernel (Debian's
#       own vmlinuz), the modules built inside the Debian 13 root of
#       tests/native.sh (made by it if missing), as `make native` builds them
#
# ROUNDS, OFF_ROUNDS, SECS, WARM_ROUNDS, WARM_SECS reach the guest script
# (defaults 9, 5, 5, 3, 2); so does EXTRA_EVENTS, trace events to enable
# besides the script's own. Its default, irq_vectors/local_timer_entry,
# is recorded when the timer interrupt comes in, before any hrtimer runs:
# without it, on a tickless kernel (Debian's) an hrtimer's own entry event
# was the first write to the trace buffer after 100 ms idle, and that cold
# write (about 17 µs under emulation) was counted as part of every hrtimer
# callback, the floor's included (Documentation/benchmarks.md, run of
# 2026-12-07 17:43). EXTRA_EVENTS= (empty) measures the old way.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
variants="no-stats plain-tasklet no-check bare steps"
mode= kdir=
case "${1:-}" in
  --kdir) mode=kdir; kdir=$2 ;;
  --native) mode=native ;;
  *) echo "usage: $0 --kdir KDIR | --native" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/simrupt-bench-tophalf.XXXXXX)
log=$(mktemp /tmp/simrupt-bench-tophalf-log.XXXXXX)
# The sources as they are in this clone (uncommitted changes included).
copy_tree() { mkdir -p "$1"; (cd "$here" && git ls-files -co --exclude-standard -z | tar -c --null -T -) | tar -x -C "$1"; }

if [ "$mode" = kdir ]; then
  label="the project's Linux $(basename "$kdir" | cut -d- -f2) debug kernel"
  copy_tree "$work/src"
  cp -r "$here/bench/cref" "$here/bench/floor" "$work/"
  make -s -C "$kdir" M="$work/cref" CREF_STEPS=y modules >/dev/null
  cp "$work/cref/simrupt_cref.ko" "$work/simrupt_cref-steps.ko"
  make -s -C "$kdir" M="$work/cref" clean >/dev/null
  make -s -C "$kdir" M="$work/cref" modules >/dev/null
  make -s -C "$kdir" M="$work/floor" modules >/dev/null
  for v in "" $variants; do
    make -s -C "$work/src" KDIR="$kdir" RUSTC=/usr/bin/rustc clean >/dev/null 2>&1
    make -s -C "$work/src" KDIR="$kdir" RUSTC=/usr/bin/rustc BENCH_VARIANT="$v" >/dev/null
    cp "$work/src/simrupt.ko" "$work/simrupt${v:+-$v}.ko"
  done
  boot=(--kdir "$kdir")
else
  root=$(ls -d "$CACHE"/native-test/root-trixie-*/ 2>/dev/null | head -n 1)
  if [ -z "$root" ] || [ ! -f "$root/.complete" ] ||
      ! ls "$root"/root/.cache/simrupt/native/kdir-*/.complete >/dev/null 2>&1; then
    echo "(no Debian 13 root with a make native build yet: running tests/native.sh to make it)"
    "$here/tests/native.sh" --logs "$work/native-test" > "$work/native-test.out" 2>&1 ||
      { echo "tests/native.sh failed (see $work/native-test.out): no numbers for Debian's kernel"; exit 0; }
    root=$(ls -d "$CACHE"/native-test/root-trixie-*/ | head -n 1)
  fi
  root=${root%/}
  kd=$(ls -d "$root"/root/.cache/simrupt/native/kdir-*/ | head -n 1)
  rel=$(basename "$kd" | sed -E 's/^kdir-(.*)-[0-9a-f]{12}$/\1/')
  vmlinuz=$root/root/.cache/simrupt/native/vmlinuz-$rel/usr/lib/modules/$rel/vmlinuz
  [ -f "$vmlinuz" ] || { echo "no Debian vmlinuz for $rel in $root: run tests/native.sh"; exit 0; }
  label="Debian's stock $rel kernel (its own vmlinuz)"
  mounts_under() { awk -v r="$1/" 'index($2 "/", r) == 1 {print $2}' /proc/self/mounts | sort -r; }
  unmount_all() { local m; for m in $(mounts_under "$root"); do umount "$m" 2>/dev/null || umount -l "$m"; done; }
  trap unmount_all EXIT
  for m in /dev /dev/pts /proc /sys; do mount --bind "$m" "$root$m"; done
  b=$root/root/simrupt-bench
  rm -rf "$b" "$b-out"; copy_tree "$b"; mkdir -p "$b-out"
  # As `make native` builds simrupt.ko (its toolchain, its build tree);
  # BENCH_VARIANT reaches Kbuild through the environment.
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c "
    set -e; cd /root/simrupt-bench
    # (out of the tree: the module's make clean removes every .ko below it)
    out=/root/simrupt-bench-out
    kdir=\$(scripts/native.sh --release $rel --print-kdir)
    make -s -C \$kdir M=\$PWD/bench/cref CREF_STEPS=y modules >/dev/null
    cp bench/cref/simrupt_cref.ko \$out/simrupt_cref-steps.ko
    make -s -C \$kdir M=\$PWD/bench/cref clean >/dev/null
    make -s -C \$kdir M=\$PWD/bench/cref modules >/dev/null
    make -s -C \$kdir M=\$PWD/bench/floor modules >/dev/null
    cp bench/cref/*.ko bench/floor/*.ko \$out/
    for v in '' $variants; do
      BENCH_VARIANT=\$v scripts/native.sh --release $rel >/dev/null 2>\$out/build.log || { cat \$out/build.log; exit 1; }
      cp simrupt.ko \$out/simrupt\${v:+-\$v}.ko
    done" > "$work/native-build.log" 2>&1 ||
    { tail -n 20 "$work/native-build.log"; echo "building the modules for $rel failed"; exit 1; }
  unmount_all
  cp "$b-out"/*.ko "$work/"
  boot=(--bzimage "$vmlinuz")
fi
if [ "$mode" = kdir ]; then
  cp "$work/cref/simrupt_cref.ko" "$work/floor/floor_hrtimer.ko" "$work/floor/floor_timer_list.ko" "$work/"
fi
mods=("$work/simrupt.ko" "$work/simrupt_cref.ko" "$work/simrupt_cref-steps.ko" "$work/floor_hrtimer.ko" "$work/floor_timer_list.ko")
for v in $variants; do mods+=("$work/simrupt-$v.ko"); done

echo
echo "### Top half on $label ($(date -u '+%Y-%m-%d %H:%M UTC'), host $(nproc) CPUs, QEMU TCG 2 vCPUs)"
# The guest script gets no environment: a wrapper sets the counts.
printf 'ROUNDS=%s OFF_ROUNDS=%s SECS=%s WARM_ROUNDS=%s WARM_SECS=%s EXTRA_EVENTS="%s"\n. /bench-tophalf.sh\n' \
  "${ROUNDS:-9}" "${OFF_ROUNDS:-5}" "${SECS:-5}" "${WARM_ROUNDS:-3}" "${WARM_SECS:-2}" "${EXTRA_EVENTS-irq_vectors/local_timer_entry}" > "$work/guest.sh"
"$here/scripts/vm.sh" "${boot[@]}" --log "$log" --timeout 3000 \
  "$work/guest.sh" "$here/tests/guest/bench-tophalf.sh" "${mods[@]}" >/dev/null 2>&1 || true
if ! grep -q '^FLOOR|' "$log"; then
  echo "top-half VM run failed; console log: $log" >&2; rm -rf "$work"; exit 1
fi
grep '^SIMRUPT-BENCH-MISSING' "$log" || true
tr -d '\r' < "$log" | sed -n 's/^CLOCKSOURCE|/(guest clocksource: /p' | sed 's/$/)/'
tr -d '\r' < "$log" | grep -E '^(TSC-MHZ|TOPHALF|FLOOR|W?C?STEPS|WARM)\|' | awk -F'|' '
  function med(s,   a, k, i, j, x) {
    k = split(s, a, " ")
    for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return k ? a[int((k + 1) / 2)] : 0
  }
  function ns(c) { return mhz > 0 ? c * 1000 / mhz : c }
  function add(key, v) { if (!(key in L)) { L[key] = ""; ORD[++NO] = key } L[key] = L[key] " " v }
  $1 == "TSC-MHZ" { mhz = $2 }
  $1 == "TOPHALF" { r = $2; v = $3; tick[v] += $4; irq[v] = irq[v] " " $5; cb[v] = cb[v] " " ns($6)
    tl[v] = tl[v] " " ns($7); sirq[v] = sirq[v] " " $8
    if (!(v in seen)) { seen[v] = 1; order[++n] = v }
    R[r, v] = $5; RC[r, v] = ns($6); if (r > nr) nr = r
    if (v == "timer_list" || v == "hrtimer") {
      bh[++nb] = sprintf("| %s | %s | %s | %s | %s | %s | %s |", r, v, $8, $9, $10, $11, $12) } }
  $1 ~ /^W?C?STEPS$/ { t = $1; k = $3; sn[t, k] += $4
    if (!((t, k) in sseen)) { sseen[t, k] = 1; sorder[t, ++ns_[t]] = k }
    for (i = 1; i <= NF - 4; i++) S[t, k, i] = S[t, k, i] " " ns($(4 + i)) }
  $1 == "FLOOR" || $1 == "WARM" { t = $1; r = $2; v = $3; cnt[t, v] += $4; vals[t, v] = vals[t, v] " " ns($5)
    V[t, r, v] = ns($5); if (r > nrnd[t]) nrnd[t] = r
    if (!((t, v) in tseen)) { tseen[t, v] = 1; ord[t, ++nv[t]] = v } }
  # floortable T TITLE: the FLOOR or WARM lines, each variant against its timer'"'"'s floor.
  function floortable(t, title,   i, v, k, x, f, pr, r) {
    if (nv[t] == 0) return
    print ""; print title; print ""
    print "| variant | callbacks | median of round medians (ns) | per-round medians (ns) | ratio to floor | median of per-round ratios |"
    print "|---|---:|---:|---|---:|---:|"
    for (i = 1; i <= nv[t]; i++) { v = ord[t, i]; k = (v ~ /hrtimer/ ? "floor-hrtimer" : "floor-timer_list")
      x = med(vals[t, v]); f = med(vals[t, k]); pr = ""
      for (r = 1; r <= nrnd[t]; r++) if (((t, r, v) in V) && ((t, r, k) in V) && V[t, r, k] > 0) pr = pr " " V[t, r, v] / V[t, r, k]
      printf "| %s | %d | %d |%s | %.2f | %.2f |\n", v, cnt[t, v], x, vals[t, v], (f > 0 ? x / f : 0), med(pr) }
  }
  # stepstable T FT TITLE: the STEPS or WSTEPS lines (FT: the part whose whole callbacks they go with).
  function stepstable(t, ft, title,   name, hdr, sep, j, k, i, tot, SM, line) {
    if (ns_[t] == 0) return
    print ""; print title; print ""
    split("timer core to the kapi C-ABI trampoline|the owner: `container_of`, `ArcRef::from_raw`|into the Rust handler, `timer_kind` checked|`trace` tested|interrupts off (timer_list), context asked and checked|clock read (`now_ns`)|statistics: produced|byte into `fast_buf`|tasklet scheduled (handle handshake)|statistics: top half time (second clock read)|interrupts back on (timer_list)|re-arm and back to the timer core", name, "|")
    hdr = "| step |"; sep = "|---|"
    for (j = 1; j <= ns_[t]; j++) { hdr = hdr " " sorder[t, j] " (ns) | share |"; sep = sep "---:|---:|" }
    print hdr; print sep
    for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; tot[k] = 0; for (i = 1; i <= 12; i++) { SM[k, i] = med(S[t, k, i]); tot[k] += SM[k, i] } }
    for (i = 1; i <= 12; i++) { line = "| " i - 1 ". " name[i] " |"
      for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | %.0f %% |", SM[k, i], tot[k] > 0 ? 100 * SM[k, i] / tot[k] : 0) }
      print line }
    line = "| sum of the medians |"; for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | |", tot[k]) }
    print line
    line = "| whole callback, `steps` build (median) |"; for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | |", med(vals[ft, "steps-" k])) }
    print line
    line = "| ticks |"; for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | |", sn[t, k]) }
    print line
  }
  # sidebyside T CT TITLE: simrupt'"'"'s steps (STEPS or WSTEPS) and the C
  # reference'"'"'s (CSTEPS or WCSTEPS), grouped by the work both do. Each
  # cell is the sum of the medians of its steps.
  function sidebyside(t, ct, title,   name, ss, cs, i, j, k, a, b, n, m, x, y, line, tot, ctot) {
    if (ns_[t] == 0 || ns_[ct] == 0) return
    print ""; print title; print ""
    split("timer core to the callback|simrupt only: the owner, `timer_kind`, `trace`, the context (timer_list: and interrupts off)|first clock read (C: and its `trace` test; timer_list: and interrupts off)|the byte: statistics and `fast_buf` (C: the ring)|tasklet scheduled (simrupt: and the handle'"'"'s handshake)|second clock read (simrupt: and the statistics)|timer_list: interrupts back on (C: in the last row)|re-arm and back to the timer core", name, "|")
    # Rows: simrupt'"'"'s steps (1-based columns of STEPS) and C'"'"'s, "a-b".
    split("1-1|2-5|6-6|7-8|9-9|10-10|11-11|12-12", ss, "|")
    split("1-1|0-0|2-2|3-3|4-4|5-5|0-0|6-7", cs, "|")
    line = "| work |"; sep = "|---|"
    for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line " simrupt " k " (ns) | C " k " (ns) |"; sep = sep "---:|---:|" }
    print line; print sep
    for (i = 1; i <= 8; i++) { line = "| " name[i] " |"
      for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; x = 0; y = 0
        split(ss[i], a, "-"); for (m = a[1]; m <= a[2]; m++) x += med(S[t, k, m])
        split(cs[i], b, "-"); if (b[1] > 0) for (m = b[1]; m <= b[2]; m++) y += med(S[ct, k, m])
        tot[k] += x; ctot[k] += y
        line = line sprintf(" %d | %s |", x, b[1] > 0 ? sprintf("%d", y) : "") }
      print line }
    line = "| sum |"; for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | %d |", tot[k], ctot[k]) }
    print line
    line = "| ticks |"; for (j = 1; j <= ns_[t]; j++) { k = sorder[t, j]; line = line sprintf(" %d | %d |", sn[t, k], sn[ct, k]) }
    print line
  }
  # goals: the targets of issue 20 for the top half against this run, one line each.
  function goal(what, x, limit, cx) {
    if (x <= 0) { printf "| %s | (not run) | <= %.1f | | |\n", what, limit; return }
    printf "| %s | %.2f | <= %.1f | %s | %s |\n", what, x, limit, (x <= limit ? "met" : "NOT met"), (cx > 0 ? sprintf("%.2f", cx) : "")
  }
  function ratio(t, v, k,   f) { f = med(vals[t, k]); return ((t, v) in tseen) && f > 0 ? med(vals[t, v]) / f : 0 }
  function goals(   c) {
    print ""; print "Goals (median of the round medians; each ratio within this boot; the C reference'"'"'s own ratio for comparison):"; print ""
    print "| goal | this run | target | | C reference |"; print "|---|---:|---:|---|---:|"
    c = med(irq["cref"])
    goal("trace on, like for like: simrupt `timer_list` / C (`in_irq` span)", ("timer_list" in seen) && c > 0 ? med(irq["timer_list"]) / c : 0, 1.0, 0)
    goal("trace off, cold (100 ms): simrupt `hrtimer` / floor", ratio("FLOOR", "hrtimer", "floor-hrtimer"), 2.0, ratio("FLOOR", "cref-hrtimer", "floor-hrtimer"))
    goal("trace off, cold (100 ms): simrupt `timer_list` / floor", ratio("FLOOR", "timer_list", "floor-timer_list"), 2.0, ratio("FLOOR", "cref", "floor-timer_list"))
    goal("trace off, warm (1 ms): simrupt `hrtimer` / floor", ratio("WARM", "hrtimer", "floor-hrtimer"), 2.0, ratio("WARM", "cref-hrtimer", "floor-hrtimer"))
    goal("trace off, warm (1 ms): simrupt `timer_list` / floor", ratio("WARM", "timer_list", "floor-timer_list"), 2.0, ratio("WARM", "cref", "floor-timer_list"))
  }
  END {
    print ""
    print "Trace on, like for like (all with a tasklet; cref is C, the others simrupt; `timer_handler in_irq` span, ns):"
    print ""
    print "| variant | ticks | median of round medians (ns) | per-round medians (ns) | ratio to C | median of per-round ratios | whole callback (ftrace, ns) | callback ratio to C |"
    print "|---|---:|---:|---|---:|---:|---:|---:|"
    c = med(irq["cref"]); cc = med(cb["cref"])
    for (i = 1; i <= n; i++) { v = order[i]; x = med(irq[v]); y = med(cb[v]); pr = ""
      for (r = 1; r <= nr; r++) if (((r, v) in R) && R[r, "cref"] > 0) pr = pr " " R[r, v] / R[r, "cref"]
      printf "| %s | %d | %d |%s | %.3f | %.3f | %d | %.3f |\n", v, tick[v], x, irq[v], (c > 0 ? x / c : 0), med(pr), y, (cc > 0 ? y / cc : 0) }
    floortable("FLOOR", "Trace off, against the floor (whole timer callback from the timer core'"'"'s trace events, ns; floor-* only re-arm):")
    floortable("WARM", "Trace off, warm: the same at a period of 1 ms (whole timer callback, ns):")
    goals()
    stepstable("STEPS", "FLOOR", "Trace off, step by step (the `steps` build: simrupt with a time-stamp counter read at each step of its first 64 ticks, bench_steps.rs; median over the rounds of each round'"'"'s median, ns):")
    stepstable("WSTEPS", "WARM", "Trace off, warm, step by step (the `steps` build at a period of 1 ms: its first 64 ticks, the first of them cold; ns):")
    sidebyside("STEPS", "CSTEPS", "Trace off, simrupt and the C reference step by step (both steps builds, bench_steps.rs and bench/cref/simrupt_cref.c; each cell the sum of its steps'"'"' medians over the rounds, ns):")
    sidebyside("WSTEPS", "WCSTEPS", "The same, warm (a period of 1 ms; ns):")
    print ""
    print "Bottom half (simrupt, trace on): `simrupt_tasklet_func in_softirq` by whether the tick'"'"'s work item ran on the tasklet'"'"'s CPU:"
    print ""
    print "| round | timer | in_softirq median (ns) | same-CPU ticks | same-CPU median (ns) | cross-CPU ticks | cross-CPU median (ns) |"
    print "|---:|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nb; i++) print bh[i]
    printf "\n(TSC %s MHz; ns from the x86-tsc trace clock)\n", mhz
  }'
echo
echo "(console log: $log)"
rm -rf "$work"
