#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of scripts/kdir-rustc.sh (the check `make` runs before building
# against KDIR): fake kernel trees and fake rustc programs, one case per check,
# each of which must pass or be refused with its own message. Host only.
# Prints "ok kdir-rustc:NAME" / "FAIL kdir-rustc:NAME: why".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sut=$here/scripts/kdir-rustc.sh
w=$(mktemp -d /tmp/simrupt-kdir-rustc.XXXXXX)
trap 'rm -rf "$w"' EXIT
failures=0
TEXT='rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)'

fake_rustc() { # fake_rustc PATH TEXT: a program whose --version prints TEXT
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\necho "%s"\n' "$2" > "$1"; chmod +x "$1"
}
tree() { # tree DIR CONFIG-LINE [rmeta]: a fake kernel build tree
  mkdir -p "$1/include/config"
  printf '%s\nCONFIG_RUSTC_VERSION_TEXT="%s"\n' "$2" "$TEXT" > "$1/include/config/auto.conf"
  if [ "${3:-}" = rmeta ]; then mkdir -p "$1/rust"; : > "$1/rust/libkernel.rmeta"; fi
}
# expect NAME WANT(ok|refused) PATTERN [ENV...] -- ARGS: run the check
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  local out rc=0
  out=$(env "${envs[@]}" "$sut" "$@" 2>&1) || rc=$?
  if { [ "$want" = ok ] && [ $rc -eq 0 ]; } || { [ "$want" = refused ] && [ $rc -ne 0 ]; }; then
    if printf '%s\n' "$out" | grep -qE -- "$pat"; then echo "ok kdir-rustc:$name"; return; fi
  fi
  echo "FAIL kdir-rustc:$name: exit $rc, wanted $want matching '$pat': $(echo "$out" | head -n 2 | tr '\n' ' ')"
  failures=$((failures + 1))
}

fake_rustc "$w/right/rustc" "$TEXT"
fake_rustc "$w/wrong/rustc" "rustc 1.95.0 (59807616e 2026-04-14)"
fake_rustc "$w/home/.rustup/toolchains/1.85.1-x86_64-unknown-linux-gnu/bin/rustc" "$TEXT"
tree "$w/norust" '# CONFIG_RUST is not set'
tree "$w/nometa" 'CONFIG_RUST=y'
tree "$w/ok" 'CONFIG_RUST=y' rmeta
P=/usr/sbin:/usr/bin:/sbin:/bin
# Without rustc on PATH, /usr/bin/rustc would still be found: keep the host's
# out of the cases that must find nothing (HOME has no rustup either).
no_usr() { [ ! -x /usr/bin/rustc ] || [ "$(/usr/bin/rustc --version)" != "$TEXT" ]; }

expect no-tree refused 'no kernel build tree' HOME="$w/home0" PATH=$P -- "$w/none"
expect no-config-rust refused 'built without Rust' HOME="$w/home0" PATH=$P -- "$w/norust"
expect no-metadata refused 'libkernel.rmeta is missing' HOME="$w/home0" PATH=$P -- "$w/nometa"
expect given-right ok "^$w/right/rustc\$" HOME="$w/home0" PATH=$P -- "$w/ok" "$w/right/rustc"
expect given-wrong refused "RUSTC=$w/wrong/rustc is 'rustc 1.95.0" HOME="$w/home0" PATH=$P -- "$w/ok" "$w/wrong/rustc"
expect finds-on-path ok "^$w/right/rustc\$" HOME="$w/home0" PATH="$w/right:$P" -- "$w/ok"
# rustup's rustc first on PATH is the wrong one: the named toolchain is found.
if no_usr; then
  expect finds-rustup-toolchain ok "toolchains/1.85.1-x86_64-unknown-linux-gnu/bin/rustc\$" \
    HOME="$w/home" PATH="$w/wrong:$P" -- "$w/ok"
  expect none-found refused "Found: $w/wrong/rustc: rustc 1.95.0" \
    HOME="$w/home0" PATH="$w/wrong:$P" -- "$w/ok"
fi
[ "$failures" -eq 0 ]
