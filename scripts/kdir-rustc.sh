#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Which rustc builds modules for the kernel in KDIR: prints its path, or says
# what is wrong and what to do. Run by `make` before every module build.
#
#   scripts/kdir-rustc.sh KDIR [RUSTC]
#
# A Rust module must be compiled by exactly the rustc the kernel was built
# with: the kernel's crates (rust/*.rmeta) load into no other. Checks, in order:
#   1. KDIR's configuration (include/config/auto.conf, else .config) has
#      CONFIG_RUST=y; if not: no Rust modules for this kernel (Debian's 6.12);
#   2. KDIR has the kernel crate's metadata (rust/libkernel.rmeta); Debian's
#      headers do not (`make native` rebuilds it), Ubuntu's come with
#      linux-lib-rust-$(uname -r), Arch's linux-headers include it;
#   3. the rustc: RUSTC if given (it must print the kernel's
#      CONFIG_RUSTC_VERSION_TEXT), else the first of: rustc on PATH,
#      /usr/bin/rustc, /usr/bin/rustc-X.Y (Ubuntu's versioned packages),
#      rustup's toolchain X.Y.Z, whose `--version` is that text.
# A kernel whose configuration names no CONFIG_RUSTC_VERSION_TEXT (before
# 6.12) skips check 3 and uses RUSTC, or rustc.
#
# Checks 2 and 3 on Ubuntu and Arch kernels are written from their packaging,
# not tested here (see Documentation/native.md).
set -euo pipefail
kdir=${1:?usage: kdir-rustc.sh KDIR [RUSTC]}
given=${2:-}
die() {
  printf 'make: %s\n' "$1" >&2; shift
  local l; for l in "$@"; do printf '      %s\n' "$l" >&2; done
  exit 1
}

conf=$kdir/include/config/auto.conf
[ -f "$conf" ] || conf=$kdir/.config
if [ ! -f "$conf" ]; then
  die "no kernel build tree at $kdir (no include/config/auto.conf or .config)." \
    "Install your kernel's headers, or pass KDIR=... ('make demo' and 'make shell'" \
    "use the project's own kernel in QEMU)."
fi
kconfig() { sed -nE "s/^CONFIG_$1=\"?([^\"]*)\"?\$/\\1/p" "$conf"; }

os_id=$( (. /etc/os-release 2>/dev/null && echo "${ID:-}") || true)
if [ "$(kconfig RUST)" != y ]; then
  die "the kernel in $kdir is built without Rust (CONFIG_RUST is not set): it loads no Rust module." \
    "Run simrupt in the project's own kernel in QEMU instead: 'make shell' (or 'make demo')." \
    "On Debian 13, the trixie-backports kernel has Rust: see Documentation/native.md."
fi
if [ ! -f "$kdir/rust/libkernel.rmeta" ]; then
  case "$os_id" in
    debian) hint="Debian's headers carry no Rust metadata: 'make native' rebuilds it and builds simrupt.ko." ;;
    ubuntu) hint="Ubuntu ships it separately: sudo apt install linux-lib-rust-\$(uname -r)" ;;
    *) hint="Your distribution's headers package may not ship it (Arch's linux-headers does)." ;;
  esac
  die "the kernel in $kdir is built with Rust, but $kdir/rust/libkernel.rmeta is missing:" \
    "a Rust module is compiled against the kernel's own crates." "$hint"
fi

want=$(kconfig RUSTC_VERSION_TEXT)
if [ -z "$want" ]; then echo "${given:-rustc}"; exit 0; fi
upstream=$(echo "$want" | awk '{print $2}')
minor=$(echo "$upstream" | cut -d. -f1,2)

if [ -n "$given" ]; then
  got=$("$given" --version 2>/dev/null | head -n 1 || true)
  got=${got:-nothing (cannot run it)}
  [ "$got" = "$want" ] || die "RUSTC=$given is '$got', but the kernel in $kdir was built with '$want'." \
    "Rust objects of different compilers do not link: use that rustc, or leave RUSTC unset to let make look."
  echo "$given"; exit 0
fi

candidates=()
p=$(command -v rustc 2>/dev/null || true); [ -n "$p" ] && candidates+=("$p")
candidates+=(/usr/bin/rustc "/usr/bin/rustc-$minor")
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
candidates+=("$rustup_home/toolchains/$upstream-x86_64-unknown-linux-gnu/bin/rustc")
seen=()
for c in "${candidates[@]}"; do
  [ -x "$c" ] || continue
  got=$("$c" --version 2>/dev/null | head -n 1 || true)
  [ "$got" = "$want" ] && { echo "$c"; exit 0; }
  seen+=("$c: ${got:-?}")
done
case "$os_id" in
  ubuntu) hint="Ubuntu: sudo apt install rustc-$minor (then make finds /usr/bin/rustc-$minor)" ;;
  debian) hint="Debian 13: 'make native' fetches Debian's rustc $upstream into a private directory" ;;
  *) hint="your distribution's rustc $upstream, or: rustup toolchain install $upstream --component rust-src" ;;
esac
die "the kernel in $kdir was built with '$want', and no rustc here is that one." \
  "Found: ${seen[*]:-no rustc at all}" "Install it: $hint" "or pass RUSTC=/path/to/rustc."
