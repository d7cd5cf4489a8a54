#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kapi's soundness checks against one kernel build tree:
#   tests/kapi/run.sh KDIR OUTDIR
#  1. each misuse in tests/kapi/compile_fail.rs must fail to build with its
#     expected error code, at that file (not for some other reason);
#  2. the self-test build (tests/kapi/selftest.rs) is built into
#     OUTDIR/simrupt-kapi-selftest.ko, for tests/guest/kapi.sh to load.
# Builds happen in a copy of the module's sources in OUTDIR, so the normal
# simrupt.ko of the clone is left alone. Prints "ok NAME"/"FAIL NAME: why".
# KAPI_SELFTEST_ONLY=1 skips step 1 (the KASAN test kernel: whether a misuse
# compiles does not depend on the kernel's debugging options).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
kdir=$1 out=$2
RUSTC=${RUSTC:-/usr/bin/rustc}
src=$out/src
rm -rf "$src"; mkdir -p "$src/tests"
cp -r "$here"/*.rs "$here"/helpers.c "$here"/Kbuild "$here"/Makefile "$here"/kapi "$src/"
cp -r "$here"/tests/kapi "$src/tests/"

# NAME -> expected error code (see the comment on each item in compile_fail.rs).
declare -A expect=(
  [embeds-wrong-field]=E0308
  [timer-without-arc]=E0308
  [debugfs-borrowed-data]=E0308
  [kfifo-token-forged]=E0451
  [kfifo-variance]=E0597
  [printk-format-mismatch]=E0080
  [printk-arg-safe-impl]=E0200
  [poll-local-queue]=E0597
  [mutex-guard-sent]=E0277
  [fast-buf-consumer-forged]=E0423
)
[ "${KAPI_SELFTEST_ONLY:-}" = 1 ] && expect=()
for name in "${!expect[@]}"; do
  log=$out/compile-fail-$name.log
  make -s -C "$src" KDIR="$kdir" clean >/dev/null 2>&1
  if make -s -C "$src" KDIR="$kdir" RUSTC="$RUSTC" KAPI_COMPILE_FAIL="$name" >"$log" 2>&1; then
    echo "FAIL kapi-compile-fail-$name: it compiled (see $log)"
  elif grep -A15 "error\[${expect[$name]}\]" "$log" | grep -q "compile_fail.rs"; then
    echo "ok kapi-compile-fail-$name (${expect[$name]})"
  else
    echo "FAIL kapi-compile-fail-$name: no error[${expect[$name]}] at compile_fail.rs (see $log)"
  fi
done

make -s -C "$src" KDIR="$kdir" clean >/dev/null 2>&1
if make -s -C "$src" KDIR="$kdir" RUSTC="$RUSTC" KAPI_SELFTEST=1 >"$out/selftest-build.log" 2>&1; then
  cp "$src/simrupt.ko" "$out/simrupt-kapi-selftest.ko"
  echo "ok kapi-selftest-build"
else
  echo "FAIL kapi-selftest-build: see $out/selftest-build.log"
fi
