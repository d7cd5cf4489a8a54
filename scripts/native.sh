#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make native`: build simrupt.ko for the Debian kernel this machine runs (or
# another installed or installable one), so that `sudo insmod simrupt.ko`
# works here, outside any VM. Debian 13 (trixie), x86-64, a Debian kernel
# built with CONFIG_RUST=y: the trixie-backports kernel (7.3), not trixie's
# own 6.12. See Documentation/native.md.
#
#   scripts/native.sh [--release REL] [--symvers FILE] [--print-kdir]
#   make native [NATIVE_KERNEL=REL]
#
#   --release REL   the kernel release to build for (default: `uname -r`),
#                   e.g. 7.3.4+deb13-amd64; its headers package is installed
#                   if missing
#   --symvers FILE  compare the rebuilt Rust crates against FILE instead of
#                   the headers' Module.symvers (for the tests: feed it a
#                   wrong one and this must stop)
#   --print-kdir    only print the prepared build tree (after preparing it)
#
# Debian's linux-headers packages carry no Rust metadata (rust/*.rmeta, the
# `kernel` crate a module is compiled against), so this script rebuilds it,
# once, from the same Debian version's linux-source, with exactly the rustc
# and bindgen the kernel's .config names. Steps, each cached under
# ~/.cache/simrupt/native (never in the clone, /usr/src or /lib/modules):
#
#   1. the kernel: release, Debian version, CONFIG_RUST=y; headers installed
#      with apt if missing (the only thing installed system-wide, with the
#      build tools: apt's plan is simulated first and nothing is ever removed)
#   2. the toolchain the kernel names: CONFIG_RUSTC_VERSION_TEXT and
#      CONFIG_BINDGEN_VERSION_TEXT, found among Debian's rustc and bindgen
#      packages and unpacked (apt-get download, dpkg-deb -x) into a private
#      prefix; the installed rustc-web, cargo, rustup stay as they are
#   3. the Rust metadata: linux-source-X.Y of the same Debian version, the
#      headers' .config, `make olddefconfig prepare` (about 2 min on 2 cores)
#   4. a check that the rebuilt crates are the kernel's: a probe module's
#      crate hashes (the `Cs..._6kernel` in every Rust symbol) must be those
#      of the kernel's exported Rust symbols in Module.symvers
#   5. a build tree: a copy of the headers plus the metadata
#   6. simrupt.ko, built there; then the insmod line is printed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
NCACHE=$CACHE/native

say() { printf '\033[1m[native]\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1m[native]\033[0m error: %s\n' "$1" >&2; shift
  local l; for l in "$@"; do printf '         %s\n' "$l" >&2; done
  exit 1
}

release= symvers_override= mode=build
while [ $# -gt 0 ]; do
  case "$1" in
    --release) release=$2; shift 2 ;;
    --symvers) symvers_override=$2; shift 2 ;;
    --print-kdir) mode=print; shift ;;
    -h|--help) sed -n '3,39p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# --- 1. The kernel -------------------------------------------------------------

os=unknown vid=
if [ -r /etc/os-release ]; then
  os=$(. /etc/os-release && echo "${PRETTY_NAME:-$ID}")
  [ "$(. /etc/os-release && echo "${ID:-}")" = debian ] && vid=$(. /etc/os-release && echo "${VERSION_ID:-}")
fi
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
if [ "$vid" != 13 ] || [ "$arch" != amd64 ]; then
  die "make native sets itself up on Debian 13 (trixie), amd64, only; this is $os, $arch." \
    "Elsewhere, if your distribution ships the kernel's Rust metadata (Ubuntu:" \
    "linux-lib-rust-\$(uname -r); Arch: linux-headers), plain 'make' builds against" \
    "/lib/modules/\$(uname -r)/build (untested; see Documentation/native.md)." \
    "Otherwise, 'make shell' gives you a shell in the project's own kernel, in QEMU."
fi

running=$(uname -r)
rel=${release:-$running}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "installing packages needs root: run this as root, or install sudo"; fi
}
# apt-get download as root: _apt cannot write to our cache directories.
apt_dl_opts=()
[ "$(id -u)" -eq 0 ] && apt_dl_opts=(-o APT::Sandbox::User=root)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt_install WHY PKG...: install with apt, but stop before removing anything.
apt_install() {
  local why=$1; shift
  local removed
  say "installing with apt ($why): $*"
  export DEBIAN_FRONTEND=noninteractive
  removed=$(LC_ALL=C apt-get -s install --no-install-recommends "$@" 2>&1 | awk '/^Remv /{print $2}') ||
    true
  if [ -n "$removed" ]; then
    die "installing $* would REMOVE: $(echo $removed). Nothing was changed."
  fi
  as_root apt-get install -y -qq --no-install-recommends "$@" >&2 ||
    die "apt-get install $* failed (is trixie-backports in your apt sources? see Documentation/native.md)"
}

headers_pkg=linux-headers-$rel
hdr=/usr/src/linux-headers-$rel
if [ ! -f "$hdr/.config" ] && [ -f "/lib/modules/$rel/build/.config" ]; then
  hdr=$(readlink -f "/lib/modules/$rel/build")
fi
if [ ! -f "$hdr/.config" ]; then
  [ "$mode" = print ] && die "no headers for $rel yet: run 'make native' first"
  if ! apt-cache show "$headers_pkg" >/dev/null 2>&1; then
    die "no package $headers_pkg in your apt sources." \
      "Debian's kernels with Rust come from trixie-backports: add" \
      "  deb http://deb.debian.org/debian trixie-backports main" \
      "to /etc/apt/sources.list.d/, 'sudo apt update', then see Documentation/native.md."
  fi
  apt_install "the headers of the kernel $rel" "$headers_pkg"
fi
[ -f "$hdr/.config" ] || die "$hdr/.config missing after installing $headers_pkg"
config=$hdr/.config
symvers=${symvers_override:-$hdr/Module.symvers}
[ -f "$symvers" ] || die "$symvers missing"

# kconfig NAME: the value of CONFIG_NAME in the kernel's .config (quotes removed).
kconfig() { sed -nE "s/^CONFIG_$1=\"?([^\"]*)\"?\$/\\1/p" "$config"; }

debver=$(dpkg-query -W -f='${Version}' "$headers_pkg" 2>/dev/null || true)
[ -n "$debver" ] || die "cannot tell the Debian version of $hdr: is $headers_pkg installed?"
if [ "$rel" = "$running" ]; then
  # `uname -v` ends in "Debian 7.3.4-1~bpo13+1 (2026-11-15)" on Debian's kernels.
  runver=$(uname -v | sed -nE 's/.*Debian ([^ ]+) \([0-9-]+\)$/\1/p')
  if [ -n "$runver" ] && [ "$runver" != "$debver" ]; then
    die "the running kernel is Debian's $runver, but $headers_pkg is $debver:" \
      "the kernel was upgraded and the machine not rebooted since. Reboot, then run this again."
  fi
fi
if [ "$(kconfig RUST)" != y ]; then
  die "the kernel $rel ($debver) is built without Rust (CONFIG_RUST is not set in $config)." \
    "Debian 13's own 6.12 kernel has no Rust; its trixie-backports kernel (7.3) has:" \
    "  sudo apt install -t trixie-backports linux-image-amd64, reboot, 'make native'" \
    "(Documentation/native.md). Or run simrupt in the project's own kernel in QEMU: 'make shell'."
fi
want_rustc=$(kconfig RUSTC_VERSION_TEXT)
want_bindgen=$(kconfig BINDGEN_VERSION_TEXT)
[ -n "$want_rustc" ] || die "$config names no CONFIG_RUSTC_VERSION_TEXT: too old a kernel for this script"
[ -n "$want_bindgen" ] || die "$config names no CONFIG_BINDGEN_VERSION_TEXT"
kver=$(echo "$rel" | sed -nE 's/^([0-9]+\.[0-9]+)\..*/\1/p')
say "kernel $rel, Debian $debver, CONFIG_RUST=y, built with '$want_rustc' and '$want_bindgen'"

# Build tools for `make prepare` of the kernel source (the headers package
# brings gcc). libclang-19-dev: the libclang Debian 13's bindgen loads.
need=()
for p in make binutils flex bison bc libelf-dev libssl-dev python3 xz-utils libclang-19-dev; do
  installed "$p" || need+=("$p")
done
if ((${#need[@]})); then
  [ "$mode" = print ] && die "build tools missing ($(echo "${need[@]}")): run 'make native' first"
  apt_install "to rebuild the kernel's Rust metadata" "${need[@]}"
fi
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

# --- 2. The toolchain the kernel names ----------------------------------------

# versions_of PKG UPSTREAM: Debian versions of PKG whose upstream version is
# UPSTREAM (1.85.1 -> 1.85.1+dfsg1-1+deb13u1, ...), newest first.
versions_of() {
  apt-cache madison "$1" 2>/dev/null | awk -F' *[|] *' '{print $2}' |
    awk -v u="$2" '{v=$0; sub(/^[0-9]+:/, "", v); if (index(v, u) == 1 && substr(v, length(u) + 1, 1) ~ /^[+~-]$/) print $0}' |
    sort -uVr
}

# unpack DIR PKG=VER...: apt-get download the packages and dpkg-deb -x them into DIR.
unpack() {
  local dir=$1; shift
  local tmp=$dir.deb.$$
  rm -rf "$tmp"; mkdir -p "$tmp" "$dir"
  (cd "$tmp" && apt-get download -qq "${apt_dl_opts[@]}" "$@") >&2 ||
    die "apt-get download $* failed"
  local d; for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$dir"; done
  rm -rf "$tmp"
}

rustc_upstream=$(echo "$want_rustc" | awk '{print $2}')
bindgen_upstream=$(echo "$want_bindgen" | awk '{print $2}')
rust_env() { # rust_env PREFIX: run rustc and its libraries from PREFIX
  export PATH="$1/usr/bin:$PATH" LD_LIBRARY_PATH="$1/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# The rustc: a Debian rustc package whose `rustc --version` is the kernel's text.
tc=
tried=()
for v in $(versions_of rustc "$rustc_upstream"); do
  dir=$NCACHE/toolchain/rustc-$v
  if [ ! -f "$dir/.complete" ]; then
    [ "$mode" = print ] && continue
    abi=$(echo "$rustc_upstream" | cut -d. -f1,2)
    say "fetching Debian's rustc $v (rustc, libstd-rust-$abi, libstd-rust-dev, rust-src) into $dir"
    rm -rf "$dir"
    unpack "$dir" "rustc=$v" "libstd-rust-$abi=$v" "libstd-rust-dev=$v" "rust-src=$v"
    touch "$dir/.complete"
  fi
  got=$( (rust_env "$dir" && "$dir/usr/bin/rustc" --version) 2>&1 || true)
  if [ "$got" = "$want_rustc" ]; then tc=$dir; break; fi
  tried+=("Debian rustc $v says '$got'")
done
if [ -z "$tc" ]; then
  die "no Debian rustc package gives the kernel's '$want_rustc'." \
    "Tried: ${tried[*]:-no rustc package of upstream version $rustc_upstream in your apt sources}"
fi
say "rustc: '$want_rustc' = Debian rustc $(basename "$tc" | sed 's/^rustc-//') in $tc"
[ -f "$tc/usr/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
  die "$tc has no Rust library source (rust-src): the kernel builds its own core from it"

bg=
tried=()
for v in $(versions_of bindgen "$bindgen_upstream"); do
  dir=$NCACHE/toolchain/bindgen-$v
  if [ ! -f "$dir/.complete" ]; then
    [ "$mode" = print ] && continue
    say "fetching Debian's bindgen $v into $dir"
    rm -rf "$dir"; unpack "$dir" "bindgen=$v"; touch "$dir/.complete"
  fi
  got=$("$dir/usr/bin/bindgen" --version 2>&1 || true)
  if [ "$got" = "$want_bindgen" ]; then bg=$dir/usr/bin/bindgen; break; fi
  tried+=("Debian bindgen $v says '$got'")
done
[ -n "$bg" ] || die "no Debian bindgen package gives the kernel's '$want_bindgen'." \
  "Tried: ${tried[*]:-no bindgen package of upstream version $bindgen_upstream in your apt sources}"
say "bindgen: '$want_bindgen' = $bg"
rust_env "$tc"
RUSTC=$tc/usr/bin/rustc

# --- 3. The Rust metadata, rebuilt from the same Debian version's source -----

srcpkg=linux-source-$kver
# The same layout as scripts/build-kernel.sh's cache: one download serves both.
pkgdir=$CACHE/pkg/$srcpkg/$debver
tarball=$pkgdir/usr/src/$srcpkg.tar.xz
srcroot=$CACHE/src/$srcpkg-$debver
src=$srcroot/$srcpkg
# Keyed by everything the metadata depends on: the Debian version (a new
# upload may keep the release name), the .config and the toolchain.
key=$( { echo "$debver"; cat "$config"; echo "$want_rustc $want_bindgen $tc $bg"; } | sha256sum | cut -c1-12)
meta=$NCACHE/meta-$rel-$key
kdir=$NCACHE/kdir-$rel-$key

if [ ! -f "$meta/.complete" ]; then
  [ "$mode" = print ] && die "the Rust metadata for $rel is not built yet: run 'make native' first"
  if [ ! -f "$src/Makefile" ]; then
    if [ ! -f "$tarball" ]; then
      if ! apt-cache madison "$srcpkg" 2>/dev/null | grep -qF " $debver "; then
        die "$srcpkg $debver (the source of the kernel $rel) is not in your apt sources" \
          "(they have: $(apt-cache madison "$srcpkg" 2>/dev/null | awk -F' *[|] *' '{print $2}' | tr '\n' ' ')" \
          ". If the kernel was updated, install the new one and reboot into it."
      fi
      say "fetching $srcpkg $debver (about 150 MB; apt-get download, dpkg-deb -x) into $pkgdir"
      rm -rf "$pkgdir"; unpack "$pkgdir" "$srcpkg=$debver"
    fi
    say "unpacking $tarball into $srcroot"
    rm -rf "$srcroot"; mkdir -p "$srcroot"
    tar -xJf "$tarball" -C "$srcroot"
  fi
  say "configuring with $config (make olddefconfig) in $meta"
  # Builds for this release with another key are stale: a new upload or toolchain.
  rm -rf "$NCACHE/meta-$rel-"* "$NCACHE/kdir-$rel-"* "$NCACHE/probe-$rel-"*
  mkdir -p "$meta"
  cp "$config" "$meta/.config"
  # The C compiler Debian built the kernel with (CONFIG_CC_VERSION_TEXT's
  # first word, x86_64-linux-gnu-gcc-14: the headers package depends on it),
  # so that olddefconfig sees the same compiler.
  cc=$(kconfig CC_VERSION_TEXT | awk '{print $1}')
  command -v "$cc" >/dev/null 2>&1 || { say "note: the kernel's C compiler '$cc' is not installed; using gcc"; cc=gcc; }
  mk() { make -C "$src" O="$meta" CC="$cc" HOSTCC="$cc" RUSTC="$RUSTC" HOSTRUSTC="$RUSTC" BINDGEN="$bg" "$@"; }
  mk -s olddefconfig >/dev/null
  # olddefconfig re-evaluates the toolchain: if this one cannot build the
  # kernel's Rust, CONFIG_RUST silently drops to n. Any Rust option that
  # differs from the kernel's means different crates: stop, and say which.
  diffs=$(diff <(grep -E '^(# )?CONFIG_' "$config" | sort) <(grep -E '^(# )?CONFIG_' "$meta/.config" | sort) |
    grep -E '^[<>]' || true)
  rdiffs=$(echo "$diffs" | grep -E 'CONFIG_(RUST|BINDGEN|HAVE_RUST)' || true)
  if [ -n "$rdiffs" ]; then
    echo "$rdiffs" | sed 's/^</  kernel:  /; s/^>/  rebuilt: /' >&2
    mk rustavailable >&2 || true
    die "the kernel's Rust options change with this toolchain (above: '<' the kernel, '>' here)"
  fi
  if [ -n "$diffs" ]; then
    say "note: olddefconfig changed options outside Rust (the C compiler's version, usually):"
    echo "$diffs" | head -n 10 | sed 's/^</  kernel:  /; s/^>/  here:    /' >&2
  fi
  jobs=$(( $(nproc) + 1 ))
  say "make prepare (the kernel crate's metadata; about 2 min on 2 cores; log: $meta/prepare.log)"
  t=$(date +%s)
  if ! mk -j"$jobs" prepare > "$meta/prepare.log" 2>&1; then
    tail -n 30 "$meta/prepare.log" >&2
    die "make prepare failed (above; full log: $meta/prepare.log)"
  fi
  [ -f "$meta/rust/libkernel.rmeta" ] || die "make prepare built no rust/libkernel.rmeta (log: $meta/prepare.log)"
  say "metadata built in $(( $(date +%s) - t )) s"
  touch "$meta/.complete"
fi

# --- 5 (before 4: the probe needs it). The build tree ---------------------------

# A copy of the headers (symbolic links that leave the tree made absolute),
# plus the metadata. scripts/ holds the generated target.json, so it is a
# directory of links into the headers' own scripts/.
if [ ! -f "$kdir/.complete" ]; then
  [ "$mode" = print ] && die "the build tree for $rel is not ready: run 'make native' first"
  say "build tree: $hdr + rebuilt rust/ metadata in $kdir"
  rm -rf "$kdir"; mkdir -p "$kdir"
  for e in "$hdr"/* "$hdr"/.[!.]*; do
    [ -e "$e" ] || continue
    name=$(basename "$e")
    if [ -L "$e" ]; then ln -s "$(readlink -f "$e")" "$kdir/$name"; else cp -a "$e" "$kdir/$name"; fi
  done
  # Debian's headers Makefile names its own directory as the output tree.
  if grep -q '^KBUILD_OUTPUT=' "$kdir/Makefile"; then
    sed -i "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$kdir|" "$kdir/Makefile"
  fi
  if [ -f "$meta/scripts/target.json" ]; then
    real=$(readlink -f "$kdir/scripts"); rm "$kdir/scripts"; mkdir "$kdir/scripts"
    for e in "$real"/* "$real"/.[!.]*; do [ -e "$e" ] && ln -s "$e" "$kdir/scripts/"; done
    cp "$meta/scripts/target.json" "$kdir/scripts/"
  fi
  mkdir -p "$kdir/rust"
  cp "$meta"/rust/*.rmeta "$meta"/rust/*.so "$kdir/rust/"
  touch "$kdir/.complete"
fi
if [ "$mode" = print ]; then echo "$kdir"; exit 0; fi

# --- 4. Are the rebuilt crates the kernel's? -----------------------------------

# Every Rust symbol names its crate with a hash (v0 mangling:
# `_RNvNtCsb5MLIFMWygY_6kernel5print11call_printk`: crate `kernel`, hash
# `b5MLIFMWygY`). A module built against metadata whose hashes differ from
# the kernel's calls symbols the kernel does not have, and modpost refuses it
# with a screen of "undefined!". So: build a probe module, list the crates
# its Rust symbols use, and compare each one's hash with the kernel's exports.
probe=$NCACHE/probe-$rel-$key
rm -rf "$probe"; mkdir -p "$probe"
cp "$here/scripts/native-probe/probe.rs" "$here/scripts/native-probe/Kbuild" "$probe/"
say "probe module: checking the rebuilt crates against $symvers"
if ! make -C "$kdir" M="$probe" RUSTC="$RUSTC" modules > "$probe/build.log" 2>&1; then
  if ! grep -q 'undefined!' "$probe/build.log"; then
    tail -n 20 "$probe/build.log" >&2
    die "the probe module does not build (above; log: $probe/build.log)"
  fi
fi
# crates: "NAME HASH" of every crate root in the Rust symbols on stdin (a
# crate root is `Cs<hash>_<length><name>`; perl-base is part of every Debian).
crates() { perl -ne 'while (/Cs([0-9A-Za-z]+)_(\d+)/g) { my ($h, $n) = ($1, $2);
  my $name = substr($_, pos($_), $n); print "$name $h\n" if $name =~ /^[A-Za-z_]\w*$/ }' | sort -u; }
objdump -t "$probe/probe.o" 2>/dev/null | awk '/\*UND\*/ && $NF ~ /^_R/ {print $NF}' > "$probe/undefined" || true
[ -s "$probe/undefined" ] || die "the probe module uses no Rust symbol of the kernel: cannot check (log: $probe/build.log)"
awk '$2 ~ /^_R/ {print $2}' "$symvers" | crates > "$probe/exported-crates"
bad=0 checked=
while read -r name hash; do
  exported=$(awk -v n="$name" '$1 == n {print $2}' "$probe/exported-crates" | tr '\n' ' ')
  # The probe's own crate, and crates the kernel exports nothing from.
  [ -n "$exported" ] || continue
  if [[ " $exported" == *" $hash "* ]]; then
    checked+="$name (Cs${hash}_${#name}$name) "
  else
    say "crate $name: rebuilt as Cs${hash}_${#name}$name, but the kernel exports Cs${exported% }_${#name}$name ($symvers)"
    bad=1
  fi
done < <(crates < "$probe/undefined")
missing=$(while read -r s; do grep -qF "	$s	" "$symvers" || echo "$s"; done < "$probe/undefined")
if ((bad)) || [ -n "$missing" ]; then
  if [ -n "$missing" ]; then
    say "Rust symbols the probe needs that $symvers does not export:"
    echo "$missing" | head -n 5 | sed 's/^/  /' >&2
  fi
  die "the rebuilt Rust metadata is not the kernel's: modules built with it cannot load." \
    "Toolchain: '$want_rustc' ($tc), '$want_bindgen'; source: $srcpkg $debver; .config: $config." \
    "If you changed any of these, remove $NCACHE and run this again."
fi
[ -n "$checked" ] || die "no crate of the probe module's symbols is exported by the kernel ($symvers)"
say "crate hashes match the kernel's exports: $checked"

# --- 6. simrupt.ko ---------------------------------------------------------------

say "building simrupt.ko against $kdir"
# Objects of another kernel's build must not be reused.
make -s -C "$here" KDIR="$kdir" clean >/dev/null 2>&1 || true
make -C "$here" KDIR="$kdir" RUSTC="$RUSTC" modules >&2 || die "simrupt.ko did not build (above)"
[ -f "$here/simrupt.ko" ] || die "no simrupt.ko after the build"
ko_rel=$(modinfo -F vermagic "$here/simrupt.ko" 2>/dev/null | awk '{print $1}' || true)
say "built $here/simrupt.ko${ko_rel:+ (vermagic $ko_rel)}"
if [ "$rel" = "$running" ]; then
  cat >&2 <<EOF

  Load it, read a few bytes, unload it:
    sudo insmod $here/simrupt.ko
    sudo head -c 16 /dev/simrupt | od -c
    sudo rmmod simrupt
    sudo dmesg | tail
  The kernel now counts as tainted (out-of-tree, unsigned module): see
  Documentation/native.md, also for Secure Boot, which refuses it as it is.
EOF
else
  say "built for $rel, which is not the running kernel ($running): boot it, then 'sudo insmod simrupt.ko'"
fi
