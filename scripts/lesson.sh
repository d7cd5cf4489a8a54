#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Guided lessons: simrupt with one deliberate mistake, caught by the debug kernel.
#
#   scripts/lesson.sh list                  the lessons, one line each (make lesson)
#   scripts/lesson.sh run NAME              build the lesson, boot the VM, trigger the
#                                           mistake, show the kernel's report, explain it
#                                           (make lesson NAME=...)
#   scripts/lesson.sh build NAME DIR        build the lesson's simrupt.ko in DIR, print
#                                           its path (make shell LESSON=NAME)
#   scripts/lesson.sh check [NAME...]       make check: "ok/FAIL lesson-NAME" lines, for
#                                           every lesson (or those named)
#   scripts/lesson.sh check-normal KO       the normal module KO carries no lesson code
#   scripts/lesson.sh selftest [NAME...]    the checks of these lessons (default: three
#                                           runtime, one compile-time) fail without their code
#
# Options (before the command): --kdir DIR (default: the project's test kernel,
# KERNEL=6.12|7.3), --logs DIR (where check keeps logs), --without-lesson-code
# (build with LESSON=none instead: the lesson's code is left out, so every
# check of it must FAIL; this is how the checks are tested; the environment's
# SIMRUPT_LESSON_WITHOUT_CODE=1 does the same), --terminal KERNEL (check and
# selftest: run each lesson as a learner does, `make lesson NAME=...
# KERNEL=KERNEL` typed into a real terminal (tmux, tests/shell/tmux.sh), and
# check what its screen shows as well as the log it left; KERNEL must be the
# one --kdir is the build tree of). `run` keeps its build and console log in
# $SIMRUPT_LESSON_DIR if set (default: a new directory under /tmp).
#
# A lesson is lessons/NAME.txt: header lines "summary:", "kind:" (runtime or
# compile), "expect:" (an extended regex the kernel log must match; several
# lines: all must match; "expect-kasan:" lines replace them on the KASAN test
# kernel, KERNEL=6.12-kasan, where "show-kasan:" lines name the reports `run`
# shows, each one that came; "log:" lines pick single lines of the log that
# `run` shows after the reports) or "error:" (the rustc error code a compile lesson
# must fail with), "crash: yes" if the guest is expected to die, "crash: maybe"
# if it may (otherwise it must finish); then a line
# "---" and the explanation. A runtime lesson has lessons/NAME.sh, run in the
# guest. Lessons are built in a copy of the tree (the normal simrupt.ko is
# never touched) with `make LESSON=NAME`, which sets `--cfg lesson="NAME"`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# The order a learner meets them in (Documentation/chapter/).
order="sleep-in-tasklet mutex-in-top-half lock-inversion lost-wakeup unbounded-drain
no-teardown leak guard-after-unlock fifo-writer-clone unsync-counter"

kdir= logs= sabotage=${SIMRUPT_LESSON_WITHOUT_CODE:-0} terminal=
while [ $# -gt 0 ]; do
  case "$1" in
    --kdir) kdir=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --without-lesson-code) sabotage=1; shift ;;
    --terminal) terminal=$2; shift 2 ;;
    *) break ;;
  esac
done
cmd=${1:-list}; [ $# -gt 0 ] && shift
if [ -n "$terminal" ]; then . "$here/tests/shell/tmux.sh"; trap tm_stop EXIT; fi

txt() { echo "$here/lessons/$1.txt"; }
field() { sed -n "/^---\$/q; s/^$2: //p" "$(txt "$1")"; }
explanation() { sed '1,/^---$/d' "$(txt "$1")"; }
# expects NAME: the reports this kernel must show (KASAN's own, on a KASAN kernel).
expects() {
  if grep -q '^CONFIG_KASAN=y' "$kdir/.config" 2>/dev/null && [ -n "$(field "$1" expect-kasan)" ]; then
    field "$1" expect-kasan
  else
    field "$1" expect
  fi
}
known() { [ -f "$(txt "$1")" ] || { echo "lesson.sh: no lesson '$1' (make lesson lists them)" >&2; exit 2; }; }
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

# The test kernel: built (once, cached) if missing, as `make demo` does.
need_kdir() {
  [ -n "$kdir" ] || kdir=$("$here/scripts/build-kernel.sh" --print-kdir)
  if [ ! -f "$kdir/arch/x86/boot/bzImage" ]; then
    "$here/scripts/deps.sh"
    kdir=$("$here/scripts/build-kernel.sh" | tail -n 1)
  fi
}

# build NAME DIR: copy the tree to DIR/tree and build the lesson there;
# the build's output goes to DIR/build.log. Returns make's status.
build() {
  local name=$1 dir=$2 lesson=$1
  ((sabotage)) && lesson=none
  rm -rf "$dir/tree"; mkdir -p "$dir/tree"
  (cd "$here" && tar -cf - --exclude=.git --exclude='*.o' --exclude='*.ko' \
      --exclude='*.cmd' --exclude=target .) | tar -xf - -C "$dir/tree"
  make -s -C "$dir/tree" KDIR="$kdir" clean > /dev/null 2>&1 || true
  make -s -C "$dir/tree" KDIR="$kdir" RUSTC="${RUSTC:-/usr/bin/rustc}" LESSON="$lesson" \
    > "$dir/build.log" 2>&1
}

# report LOG REGEX: the kernel's report around the first line matching REGEX,
# preferring the copy the guest dumped with `dmesg` (the console interleaves).
report() {
  local log=$1 re=$2 dumped n
  dumped=$(mktemp)
  awk '/^----- dmesg: /{d=1; next} /^----- end of dmesg: /{d=0} d' "$log" > "$dumped"
  for f in "$dumped" "$log"; do
    n=$(grep -n -E -m1 -- "$re" "$f" | cut -d: -f1) || true
    [ -n "$n" ] || continue
    # A KASAN report cut short in the dumped copy (the guest died while
    # printing it): take the console's, interleaved but whole.
    if sed -n "${n}p" "$f" | grep -q 'BUG: KASAN:' && [ "$f" = "$dumped" ] &&
       ! tail -n "+$n" "$f" | grep -q '\] =====' && grep -q -E -- "$re" "$log"; then
      continue
    fi
    # Back up over the report's banner ("=====", "[ cut here ]", blank);
    # stop at its end: the last frame of the trace, or the next report. A
    # KASAN report goes on after its trace (the stacks that allocated and
    # freed the memory, the shadow bytes) to its closing "=====" line.
    awk -v n="$n" 'NR >= n - 4 && NR < n && /(====|cut here|\] *$)/ { print; next }
      NR == n { kasan = /BUG: KASAN:/ }
      NR >= n { print; shown++ }
      NR > n && kasan && (/\] =====/ || shown >= 160) { exit }
      NR > n && !kasan && (/<\/TASK>|---\[ end trace|^----- end of|Kernel panic/ || shown >= 60) { exit }' "$f"
    break
  done
  rm -f "$dumped"
}

# log_lines NAME LOG: the lines of LOG matching the lesson's "log:" patterns,
# from the whole console, each once: the guest's dumps of dmesg repeat what
# the console showed, and a guest that died dumped nothing after.
log_lines() {
  local picks; picks=$(field "$1" log | paste -sd'|')
  [ -n "$picks" ] || return 0
  grep -E -- "$picks" "$2" | awk '!seen[$0]++' || true
}

# The rustc errors of a failed build, with the copy's path made relative.
rustc_errors() {
  awk '/^error(\[E[0-9]+\])?:/ { p = 1 } p { print } p && /^$/ { p = 0 }' "$1/build.log" |
    grep -v '^error: aborting\|^error: could not compile' | sed "s|$1/tree/||g"
}

cmd_list() {
  echo "Lessons (make lesson NAME=<name>): simrupt with one deliberate mistake; runtime ones boot the VM:"
  for name in $order; do
    printf '  %-20s %-8s %s\n' "$name" "$(field "$name" kind)" "$(field "$name" summary)"
  done
  echo "Start with Documentation/chapter/README.md."
}

cmd_run() {
  local name=${1:?usage: scripts/lesson.sh run NAME}
  known "$name"; need_kdir
  local dir=${SIMRUPT_LESSON_DIR:-}
  if [ -n "$dir" ]; then mkdir -p "$dir"; else dir=$(mktemp -d /tmp/simrupt-lesson.XXXXXX); fi
  bold "== Lesson $name: $(field "$name" summary)"
  echo "Building simrupt.ko with LESSON=$name (in $dir/tree; your simrupt.ko is untouched)"
  if [ "$(field "$name" kind)" = compile ]; then
    if build "$name" "$dir"; then
      echo "lesson.sh: the lesson compiled, but it must not: see $dir/build.log" >&2; exit 1
    fi
    bold "== rustc refuses it:"
    rustc_errors "$dir"
  else
    build "$name" "$dir" || { tail -n 30 "$dir/build.log"; exit 1; }
    bold "== Booting the test kernel ($(basename "$kdir")) and triggering the mistake"
    # vm.sh's own account of a dead guest goes to vm.err: the report below says it better.
    (cd "$dir/tree" && scripts/vm.sh --kdir "$kdir" --log "$dir/console.log" --timeout 180 \
       "lessons/$name.sh" tests/guest/lib.sh 2> "$dir/vm.err") || true
    bold "== What the guest did"
    grep -E '^# ' "$dir/console.log" || true
    if ! grep -q '^SIMRUPT-GUEST-EXIT=' "$dir/console.log"; then
      if [ -n "$(field "$name" crash)" ]; then
        echo "# the guest died here: the kernel crashed (that is this lesson); the next boot starts clean"
      else
        echo "# the guest died here, which this lesson does not expect: $(head -n 1 "$dir/vm.err")"
      fi
    fi
    bold "== The kernel's report (dmesg; full console in $dir/console.log)"
    local re
    # On a KASAN kernel, a lesson's "show-kasan:" lines name the reports to
    # show, each one that came (its expect-kasan: line only needs one).
    local shown=0
    if grep -q '^CONFIG_KASAN=y' "$kdir/.config" 2>/dev/null; then
      while IFS= read -r re; do
        if grep -q -E -- "$re" "$dir/console.log"; then report "$dir/console.log" "$re"; echo; shown=1; fi
      done < <(field "$name" show-kasan)
    fi
    if ((shown == 0)); then
      while IFS= read -r re; do report "$dir/console.log" "$re"; echo; done < <(expects "$name")
    fi
    # A lesson's "log:" lines pick single lines of the log that tell the
    # rest of the story (the lesson's own messages, a later complaint).
    local more; more=$(log_lines "$name" "$dir/console.log")
    if [ -n "$more" ]; then
      bold "== More of the log (lines matching lessons/$name.txt's log: patterns)"
      printf '%s\n' "$more"
    fi
  fi
  bold "== Why"
  explanation "$name"
}

cmd_build() {
  local name=${1:?usage: scripts/lesson.sh build NAME DIR} dir=${2:?usage: scripts/lesson.sh build NAME DIR}
  known "$name"; need_kdir
  if [ "$(field "$name" kind)" = compile ]; then
    echo "lesson.sh: $name is a compile-time lesson: it does not build (make lesson NAME=$name shows why)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  build "$name" "$dir" || { tail -n 30 "$dir/build.log" >&2; exit 1; }
  echo "$dir/tree/simrupt.ko"
}

# in_terminal NAME DIR: `make lesson NAME=NAME KERNEL=$terminal` in a 132x40
# terminal (tmux), as a learner runs it, its build and console log kept in
# DIR; the screen, scrollback included, goes to DIR/screen.txt.
in_terminal() {
  local name=$1 dir=$2
  tm_start lesson 132 40 "cd '$here' && SIMRUPT_LESSON_DIR='$dir' SIMRUPT_LESSON_WITHOUT_CODE=$sabotage make lesson NAME=$name KERNEL=$terminal; echo LESSON-EXITED=\$?; sleep 3600"
  local ended=1
  tm_wait lesson '^LESSON-EXITED=' 900 || ended=0
  tm_screen lesson > "$dir/screen.txt"
  ((ended)) || echo "(the test: make lesson did not end within 900 s)" >> "$dir/screen.txt"
  tm_stop
}

# screen_check NAME DIR HEADING REGEX...: the ok/FAIL line of
# lesson-NAME-screen. The screen in_terminal saved must show the lesson's
# title, the section under HEADING (an extended regex for its "== ..." line)
# with a line matching each REGEX inside it (not elsewhere: the explanation
# below names the same reports), the explanation, and `make lesson` ending
# with status 0.
screen_check() {
  local name=$1 dir=$2 heading=$3 re section; shift 3
  section=$(awk -v h="$heading" '$0 ~ h { on = 1; next } on && /^== / { exit } on' "$dir/screen.txt")
  for re in "^== Lesson $name: " "$heading" "^== Why" "^LESSON-EXITED=0\$"; do
    if ! grep -qE -- "$re" "$dir/screen.txt"; then
      echo "FAIL lesson-$name-screen: no line matching '$re' on the terminal (see $dir/screen.txt)"
      return
    fi
  done
  for re in "$@"; do
    if ! grep -qE -- "$re" <<< "$section"; then
      echo "FAIL lesson-$name-screen: no line matching '$re' under '$heading' on the terminal (see $dir/screen.txt)"
      return
    fi
  done
  echo "ok lesson-$name-screen"
}

# check_one NAME: ok/FAIL lines for one lesson.
check_one() {
  local name=$1 dir=$logs/$1
  mkdir -p "$dir"
  if [ "$(field "$name" kind)" = compile ]; then
    local code built=0; code=$(field "$name" error)
    if [ -n "$terminal" ]; then
      rm -f "$dir/build.log"
      in_terminal "$name" "$dir"
      ! grep -q 'the lesson compiled, but it must not' "$dir/screen.txt" || built=1
    else
      build "$name" "$dir" && built=1
    fi
    if ((built)); then
      echo "FAIL lesson-$name: compiled, but must fail with error[$code] (see $dir/build.log)"
    elif grep -q "^error\[$code\]" "$dir/build.log"; then
      echo "ok lesson-$name (error[$code])"
    else
      echo "FAIL lesson-$name: build failed without error[$code]: $(grep -m1 '^error' "$dir/build.log" 2>/dev/null)"
    fi
    [ -z "$terminal" ] || screen_check "$name" "$dir" "^== rustc refuses it:" "^error\[$code\]"
    rm -rf "$dir/tree"
    return
  fi
  if [ -z "$terminal" ] && ! build "$name" "$dir"; then
    echo "FAIL lesson-$name: lesson build failed, see $dir/build.log"; return
  fi
  local missing= re tries=1
  while :; do
    rm -f "$dir/console.log"
    if [ -n "$terminal" ]; then
      in_terminal "$name" "$dir"
      if [ ! -f "$dir/console.log" ]; then
        echo "FAIL lesson-$name: make lesson booted no VM (see $dir/screen.txt, $dir/build.log)"
        return
      fi
    else
      (cd "$dir/tree" && scripts/vm.sh --kdir "$kdir" --log "$dir/console.log" --timeout 180 \
         "lessons/$name.sh" tests/guest/lib.sh > /dev/null 2>&1) || true
    fi
    missing=
    while IFS= read -r re; do
      grep -q -E -- "$re" "$dir/console.log" || missing="$missing '$re'"
    done < <(expects "$name")
    # A lesson whose mistake may take the guest down ("crash: maybe") can
    # die before it shows every report: that outcome depends on timing, not
    # on the code, so it gets one more boot. Each report must still appear
    # within one boot.
    if [ -n "$missing" ] && [ "$(field "$name" crash)" = maybe ] && ((tries < 2)) &&
       ! grep -q '^SIMRUPT-GUEST-EXIT=' "$dir/console.log"; then
      mv "$dir/console.log" "$dir/console-1.log"
      [ ! -f "$dir/screen.txt" ] || mv "$dir/screen.txt" "$dir/screen-1.txt"
      tries=$((tries + 1)); continue
    fi
    break
  done
  if [ -n "$missing" ]; then
    echo "FAIL lesson-$name: no report matching$missing in $dir/console.log"
  else
    echo "ok lesson-$name"
  fi
  # What `run` shows after the reports (its "log:" lines) must be there:
  # at least one line. Not on the KASAN kernel, whose reports differ.
  if [ -n "$(field "$name" log)" ] && ! grep -q '^CONFIG_KASAN=y' "$kdir/.config" 2>/dev/null; then
    if [ -n "$(log_lines "$name" "$dir/console.log")" ]; then
      echo "ok lesson-$name-log-lines"
    else
      echo "FAIL lesson-$name-log-lines: no line matching its log: patterns in $dir/console.log"
    fi
  fi
  # What the learner's terminal showed: the reports the log has, and why.
  if [ -n "$terminal" ]; then
    local shown=()
    while IFS= read -r re; do shown+=("$re"); done < <(expects "$name")
    grep -qE "^== Booting the test kernel \\($(basename "$kdir")\\)" "$dir/screen.txt" ||
      echo "FAIL lesson-$name-screen-kernel: make lesson did not boot $(basename "$kdir") (see $dir/screen.txt)"
    screen_check "$name" "$dir" "^== The kernel's report" "${shown[@]}"
  fi
  # Crashing is the lesson only where it says so; elsewhere the guest must finish.
  if ! grep -q '^SIMRUPT-GUEST-EXIT=' "$dir/console.log" && [ -z "$(field "$name" crash)" ]; then
    echo "FAIL lesson-$name-completes: the guest died, see $dir/console.log"
  fi
  # The same report in a normal suite's boot would fail it: the log scanner
  # must flag every line that matches this lesson's patterns.
  local scan=$dir/scan.txt unflagged=
  "$here/tests/scan-log.sh" "$dir/console.log" > "$scan" || true
  while IFS= read -r re; do
    grep -q -E -- "$re" "$scan" || unflagged="$unflagged '$re'"
  done < <(expects "$name")
  if [ -n "$unflagged" ]; then
    echo "FAIL lesson-$name-scanned: tests/scan-log.sh does not flag$unflagged"
  else
    echo "ok lesson-$name-scanned"
  fi
  rm -rf "$dir/tree"
}

cmd_check() {
  need_kdir
  [ -n "$logs" ] || logs=$(mktemp -d /tmp/simrupt-lessons.XXXXXX)
  local names=${*:-$order} name
  for name in $names; do known "$name"; check_one "$name"; done
  # Every lesson file is in the list.
  for f in "$here"/lessons/*.txt; do
    case " $(echo $order) " in *" $(basename "$f" .txt) "*) ;; *)
      echo "FAIL lesson-order: $(basename "$f" .txt) is missing from \$order in scripts/lesson.sh" ;;
    esac
  done
}

# The normal module: no lesson modinfo field or parameter, no lesson symbol or string.
cmd_check_normal() {
  local ko=${1:?usage: scripts/lesson.sh check-normal KO} why=
  [ -f "$ko" ] || { echo "FAIL lesson-free-module: no $ko"; return; }
  [ -z "$(modinfo -F lesson "$ko")" ] || why="$why modinfo has a lesson field;"
  ! modinfo -F parm "$ko" | grep -qi lesson || why="$why modinfo has a lesson parameter;"
  ! nm "$ko" | grep -qi lesson || why="$why nm shows lesson symbols;"
  ! strings "$ko" | grep -qi lesson || why="$why the module contains the word 'lesson';"
  if [ -z "$why" ]; then echo "ok lesson-free-module"; else echo "FAIL lesson-free-module:$why"; fi
}

# The checks must be able to fail: with the lesson's code left out (LESSON=none),
# every check of the lesson must say FAIL.
cmd_selftest() {
  need_kdir
  [ -n "$logs" ] || logs=$(mktemp -d /tmp/simrupt-lessons.XXXXXX)
  local name out
  for name in ${*:-lock-inversion sleep-in-tasklet no-teardown guard-after-unlock}; do
    known "$name"
    out=$(sabotage=1 logs=$logs/without-code check_one "$name")
    if [ -n "$out" ] && ! grep -q '^ok ' <<< "$out"; then
      echo "ok lesson-selftest-$name (without its code: $(grep -c '^FAIL ' <<< "$out") checks fail)"
    else
      echo "FAIL lesson-selftest-$name: without its code, a check still passes: $(grep '^ok ' <<< "$out" | tr '\n' ' ')"
    fi
  done
}

case "$cmd" in
  list) cmd_list ;;
  run) cmd_run "$@" ;;
  build) cmd_build "$@" ;;
  check) cmd_check "$@" ;;
  check-normal) cmd_check_normal "$@" ;;
  selftest) cmd_selftest "$@" ;;
  *) sed -n '3,20p' "$0" >&2; exit 2 ;;
esac
