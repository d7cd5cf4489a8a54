#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install, idempotently, everything simrupt needs to build Rust-enabled test
# kernels, build the module against them, boot them in QEMU and run the host
# tests: all from Debian 12 (bookworm) or Debian 13 (trixie) itself, no rustup.
#
#   scripts/deps.sh               install what is missing, then check the
#                                 toolchain against every supported kernel
#   KERNEL=7.3 scripts/deps.sh    ... against that kernel only
#
# Only what is missing is installed, and each step says why it is needed.
# On any other system it stops at once with the list of what to install.
#
# The toolchain's minimum versions are not written down here: they are read
# from each kernel's own scripts/min-tool-version.sh, and the kernel's own
# scripts/rust_is_available.sh (what `make rustavailable` runs) has the last
# word.
#
# Never `apt install cargo` or `apt install rustup` next to this: on Debian 13
# either one REMOVES rustc-web, the compiler the kernel is built with
# (cargo-web, which provides `cargo`, Conflicts with both). To be safe, apt's
# plan is simulated first (scripts/apt-env.sh's plan_install), and nothing is
# ever removed:
#   - a package that would pull out one installed from the release's backports
#     suite (Debian 12 machines often run QEMU from bookworm-backports) is taken
#     from that suite too, through a private apt state (/etc/apt is untouched),
#     and a line says so;
#   - if no plan removes nothing, nothing is installed, and the message names
#     the package that would be removed, the one that pulls it out, and what
#     the user can do.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/kernel/supported.sh"
. "$here/scripts/toolchain.sh"

say() { printf '\033[1m[deps]\033[0m %s\n' "$*"; }
die() { printf '\033[1m[deps]\033[0m %s\n' "$@" >&2; exit 1; }
# vge A B: version A >= version B (both x.y.z)
vge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]; }
# upstream_version: 1:19.1.7-3~deb12u1 -> 19.1.7, 0.71.1-4 -> 0.71.1
upstream_version() { sed -nE 's/^[0-9]+://; s/^([0-9][0-9.]*).*/\1/p'; }

# --- 1. Debian 12 or 13 on x86-64, or stop here with the list ---------------

# Shown on other systems only. The minimums are those of the supported
# kernels' scripts/min-tool-version.sh (6.12: rustc 1.78.0, bindgen 0.65.1,
# libclang 13.0.1; 7.3: rustc 1.85.0, bindgen 0.71.1, libclang 17.0.1); on
# Debian they are read from the kernel sources instead, and a mismatch with
# this list is reported (step 4).
LIST_RUSTC=1.85.0 LIST_BINDGEN=0.71.1 LIST_LLVM=17.0.1
requirements() {
  cat <<EOF
simrupt's scripts install their dependencies on Debian 12 (bookworm) and
Debian 13 (trixie), x86-64, only. This system is: $1.

To use simrupt elsewhere, install these yourself and build against your own
kernel ('make KDIR=... RUSTC=...', see README.md), or use a Debian 12 or 13
machine, VM or container:
  - Rust >= $LIST_RUSTC: rustc with its library source (rust-src), cargo,
    rustfmt, clippy; the kernel must be built with the same rustc
  - bindgen >= $LIST_BINDGEN (cargo install --locked bindgen-cli)
  - libclang >= $LIST_LLVM (the LLVM version bindgen loads)
  - gcc, make, flex, bison, bc, libelf, OpenSSL headers, cpio, xz, rsync,
    kmod, python3 (the kernel build)
  - qemu-system-x86_64 and a static busybox (the test VM)
  - the source of Linux $(echo "$SIMRUPT_KERNELS" | sed 's/ /, /g') (Debian: linux-source-X.Y)
EOF
}

os="unknown (no /etc/os-release)"
codename=
if [ -r /etc/os-release ]; then
  os=$(. /etc/os-release && echo "${PRETTY_NAME:-${ID:-unknown}}")
  id=$(. /etc/os-release && echo "${ID:-}")
  vid=$(. /etc/os-release && echo "${VERSION_ID:-}")
  if [ "$id" = debian ]; then
    case "$vid" in 12) codename=bookworm ;; 13) codename=trixie ;; esac
  fi
fi
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
if [ -z "$codename" ] || [ "$arch" != amd64 ]; then
  requirements "$os, $arch" >&2
  exit 1
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "installing packages needs root: run this as root, or install sudo"; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

. "$here/scripts/apt-env.sh"
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
# A new machine has no cache yet; the private apt state's logs go there.
mkdir -p "$CACHE"
# Packages the system already has from its release's backports suite (QEMU,
# say) may need their siblings from there too: a private apt state adds it.
BP_SUITE=$codename-backports
BP_DIR=$CACHE/apt-$BP_SUITE

updated=0 bp_updated=0
apt_update() {
  if ((updated == 0)); then as_root apt-get update -qq; updated=1; fi
}
bp_apt() { apt_private_plus "$BP_DIR" "$BP_SUITE" -- "$@"; }
bp_update() {
  if ((bp_updated == 0)); then
    bp_apt apt-get update -qq >"$CACHE/apt-$BP_SUITE-update.log" 2>&1 ||
      say "apt-get update with $BP_SUITE added failed (see $CACHE/apt-$BP_SUITE-update.log)" >&2
    bp_updated=1
  fi
}

# What scripts/apt-env.sh's plan_install asks of apt.
apt_sim() {
  local where=$1; shift
  if [ "$where" = host ]; then
    LC_ALL=C apt-get -s install --no-install-recommends "$@" 2>&1
  else
    bp_update; LC_ALL=C bp_apt apt-get -s install --no-install-recommends -t "$BP_SUITE" "$@" 2>&1
  fi
}
apt_installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
apt_origin() {
  local v; v=$(apt_installed "$1"); [ -n "$v" ] || return 0
  bp_update
  bp_apt apt-cache madison "$1" 2>/dev/null |
    awk -F' *[|] *' -v v="$v" '$2 == v { split($3, a, " "); s = a[2]; sub("/.*", "", s); print s; exit }'
}
apt_candidate_bp() {
  bp_update; bp_apt apt-cache policy -t "$BP_SUITE" "$1" 2>/dev/null | awk '/Candidate:/{print $2; exit}'
}

# apt_install PKG...: install, taking from the release's backports what must
# match a package installed from there, and never removing anything.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  if ! plan_install "$@"; then die "${PLAN_ERR[@]}"; fi
  local n
  for n in "${PLAN_NOTES[@]}"; do say "$n"; done
  if ((${#PLAN_HOST[@]})); then
    as_root apt-get install -y -qq --no-install-recommends "${PLAN_HOST[@]}" >/dev/null
  fi
  if ((${#PLAN_BP[@]})); then
    as_root env DEBIAN_FRONTEND=noninteractive bash -c '. "$1"; shift; apt_private_plus "$@"' _ \
      "$here/scripts/apt-env.sh" "$BP_DIR" "$BP_SUITE" -- \
      apt-get install -y -qq --no-install-recommends -t "$BP_SUITE" "${PLAN_BP[@]}" >/dev/null
  fi
}

# --- 2. Debian packages --------------------------------------------------------

# Debian packages and why each one is here.
declare -A WHY=(
  [linux-source-6.12]="the Linux 6.12 LTS source the default test kernel is built from"
  [rustc-web]="Debian's rustc 1.9x at /usr/bin/rustc: builds the kernel's Rust and the host tests"
  [rust-web-src]="the Rust core library sources matching rustc-web (the kernel builds its own core)"
  [cargo-web]="cargo for rustc-web: host tests; on Debian 12 also builds bindgen-cli"
  [rustfmt-web]="rustfmt for rustc-web: make check's formatting checks"
  [rust-web-clippy]="clippy matching rustc-web, for make CLIPPY=1 (the kernel lint set) and host lints"
  [libclang-19-dev]="libclang 19 for bindgen (Linux 7.3 needs >= 17; Debian 12's default libclang-dev is 14)"
  [ca-certificates]="HTTPS to crates.io (cargo)"
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
  [wget]="debootstrap's downloads, for make check's Debian 13 root (tests/native.sh)"
  [tmux]="make check types into make shell through a real terminal, as a learner does"
  [clang-19]="the C compiler of the KASAN test kernel (KASAN with Rust needs a clang build, LLVM=-19)"
  [lld-19]="the linker of the KASAN test kernel (LLVM=-19)"
  [llvm-19]="llvm-ar, llvm-nm, llvm-objcopy for the KASAN test kernel (LLVM=-19)"
)

# QEMU: a qemu-system-x86_64 that is already there and new enough (the oldest
# verified: Debian 12's 7.2) is used as it is, wherever it came from.
QEMU_MIN=7.2
if ! installed qemu-system-x86 && command -v qemu-system-x86_64 >/dev/null; then
  qv=$(qemu-system-x86_64 --version 2>/dev/null | sed -nE '1s/.*version ([0-9]+\.[0-9]+(\.[0-9]+)?).*/\1/p')
  if [ -n "$qv" ] && vge "$qv" "$QEMU_MIN"; then
    say "qemu-system-x86_64 $qv at $(command -v qemu-system-x86_64): present (>= $QEMU_MIN), used as it is"
    unset 'WHY[qemu-system-x86]'
  fi
fi

missing=()
for p in "${!WHY[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  say "Debian $vid ($codename): installing packages:"
  for p in "${missing[@]}"; do say "  $p: ${WHY[$p]}"; done
  apt_install "${missing[@]}"
else
  say "Debian $vid ($codename) packages: all present"
fi

# --- 3. The kernels' own minimums ------------------------------------------------

kernels=${KERNEL:-$SIMRUPT_KERNELS}
declare -A SRC
min_rustc=0 min_bindgen=0 min_llvm=0
max() { if vge "$1" "$2"; then echo "$1"; else echo "$2"; fi; }
for v in $kernels; do
  kernel_check "$v"
  # Fetches and unpacks the source once; the kernel build reuses it.
  SRC[$v]=$("$here/scripts/build-kernel.sh" --kernel "$v" --fetch | tail -n 1)
  mtv=${SRC[$v]}/scripts/min-tool-version.sh
  [ -x "$mtv" ] || die "Linux $v: $mtv missing"
  min_rustc=$(max "$min_rustc" "$("$mtv" rustc)")
  min_bindgen=$(max "$min_bindgen" "$("$mtv" bindgen)")
  min_llvm=$(max "$min_llvm" "$("$mtv" llvm)")
done
say "Linux $(echo "$kernels" | sed 's/ /, /g') need: rustc >= $min_rustc, bindgen >= $min_bindgen, libclang >= $min_llvm"
if [ -z "${KERNEL:-}" ] && [ "$min_rustc $min_bindgen $min_llvm" != "$LIST_RUSTC $LIST_BINDGEN $LIST_LLVM" ]; then
  say "note: update LIST_* in scripts/deps.sh (shown on other systems) to these minimums"
fi

# --- 4. bindgen -------------------------------------------------------------------

# The kernel build finds bindgen on PATH, with ~/.cargo/bin (where
# `cargo install` puts it) appended.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
bindgen_version() { bindgen --version 2>/dev/null | awk '{print $2}'; }
have=$(bindgen_version || true)
if [ -n "$have" ] && vge "$have" "$min_bindgen"; then
  say "bindgen $have at $(command -v bindgen): present"
else
  deb=$(apt-cache policy bindgen 2>/dev/null | awk '/Candidate:/{print $2}' | upstream_version)
  if [ -n "$deb" ] && vge "$deb" "$min_bindgen"; then
    say "installing Debian's bindgen $deb (the kernel generates its Rust bindings with it)"
    apt_install bindgen
  elif [ -n "$have" ] && [ "$(command -v bindgen)" = /usr/bin/bindgen ]; then
    die "Debian's bindgen $have (/usr/bin/bindgen) is older than $min_bindgen and would" \
      "shadow a newer one in ~/.cargo/bin: 'apt-get remove bindgen', then run this again"
  else
    say "installing bindgen-cli from crates.io with Debian's cargo (Debian's bindgen" \
      "${deb:-(none)} is older than $min_bindgen; the kernel generates its Rust bindings with it; ~2 min)"
    (debian_rust_env && cargo install --locked bindgen-cli)
  fi
  have=$(bindgen_version || true)
  [ -n "$have" ] && vge "$have" "$min_bindgen" || die "bindgen ${have:-missing} after installing; need >= $min_bindgen"
fi

# --- 5. Check, as the kernel does -------------------------------------------------

# The libclang the kernel build uses: the newest installed (scripts/build-kernel.sh).
libclang=$(ls -d /usr/lib/llvm-*/lib/libclang.so 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$libclang" ] || die "no /usr/lib/llvm-*/lib/libclang.so: is libclang-19-dev installed?"
export LIBCLANG_PATH=${libclang%/libclang.so}
rustc_v=$(/usr/bin/rustc --version | awk '{print $2}')
for v in $kernels; do
  src=${SRC[$v]} mtv=${SRC[$v]}/scripts/min-tool-version.sh
  clang_v=$(LC_ALL=C bindgen "$src/scripts/rust_is_available_bindgen_libclang.h" 2>&1 >/dev/null |
    sed -nE 's:.*clang version ([0-9]+\.[0-9]+\.[0-9]+).*:\1:p' | head -n 1)
  line="Linux $v: rustc $rustc_v (>= $("$mtv" rustc)), bindgen $have (>= $("$mtv" bindgen)),"
  line+=" libclang ${clang_v:-?} (>= $("$mtv" llvm))"
  if out=$(cd "$src" && RUSTC=/usr/bin/rustc BINDGEN=bindgen CC=gcc scripts/rust_is_available.sh 2>&1); then
    say "$line: ok (the kernel's rust_is_available.sh agrees)"
  else
    echo "$out" >&2
    die "$line: the kernel's scripts/rust_is_available.sh refuses this toolchain (above)"
  fi
done
