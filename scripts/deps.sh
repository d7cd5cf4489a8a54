#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install, idempotently, everything simrupt needs to build a Rust-enabled
# Linux 6.12 kernel, build the module against it and boot it in QEMU.
#
# Only what is missing is installed, and each step says why it is needed.
set -euo pipefail

say() { printf '\033[1m[deps]\033[0m %s\n' "$*"; }

# Debian packages and why each one is here.
declare -A WHY=(
  [linux-source-6.12]="the Linux 6.12 LTS source we build the test kernel from"
  [rustc-web]="rustc 1.9x at /usr/bin/rustc, which Linux 6.12's Rust support builds with"
  [rust-web-src]="the Rust core library sources matching rustc-web (the kernel builds its own core)"
  [libclang-dev]="libclang, used by bindgen to read the kernel's C headers"
  [build-essential]="gcc and make for the C half of the kernel"
  [flex]="kernel build (Kconfig lexer)"
  [bison]="kernel build (Kconfig parser)"
  [bc]="kernel build (timeconst.h)"
  [libelf-dev]="kernel build (objtool)"
  [libssl-dev]="kernel build (module signing tools)"
  [cpio]="packing the initramfs"
  [xz-utils]="unpacking the kernel source tarball"
  [qemu-system-x86]="booting the test kernel under software emulation"
  [busybox-static]="the guest's shell and tools inside the initramfs"
  [python3]="kernel build scripts"
  [rsync]="kernel headers install"
  [kmod]="depmod, for make modules_install"
  [rust-web-clippy]="clippy matching rustc-web, for make CLIPPY=1 (the kernel lint set)"
)

missing=()
for p in "${!WHY[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  say "installing Debian packages:"
  for p in "${missing[@]}"; do say "  $p: ${WHY[$p]}"; done
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

# bindgen: Linux 6.12 needs >= 0.65.1; Debian 12 ships 0.60, so use crates.io.
export PATH="$HOME/.cargo/bin:$PATH"
need_bindgen=1
if command -v bindgen >/dev/null 2>&1; then
  v=$(bindgen --version | awk '{print $2}')
  if [ "$(printf '%s\n0.65.1\n' "$v" | sort -V | head -n1)" = "0.65.1" ]; then
    need_bindgen=0
  fi
fi
if ((need_bindgen)); then
  say "installing bindgen-cli from crates.io (the kernel generates its Rust bindings with it; ~2 min)"
  cargo install --locked bindgen-cli
else
  say "bindgen $(bindgen --version | awk '{print $2}'): present"
fi
