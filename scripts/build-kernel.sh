#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) a debug Linux kernel with CONFIG_RUST=y from Debian's kernel
# source package, in a cache outside the clone, and print its build tree.
#
#   scripts/build-kernel.sh [--kernel V]              build or reuse; prints KDIR
#                                                     on stdout (progress on stderr)
#   scripts/build-kernel.sh [--kernel V] --print-kdir print KDIR of an existing build
#   scripts/build-kernel.sh [--kernel V] --fetch      only fetch and unpack the source
#
# V is a supported kernel (kernel/supported.sh; default: $KERNEL, else the LTS).
# Linux 6.12 comes from the host's own linux-source-6.12 (scripts/deps.sh
# installs it); newer kernels come from another Debian suite, fetched with
# `apt-get download` through a private apt state under the cache: the host's
# /etc/apt is never touched.
#
# The build directory is keyed by the kernel version (read from the unpacked
# tree's Makefile), a hash of kernel/simrupt.config, and the versions of rustc,
# bindgen and libclang: Rust objects built by one rustc cannot be linked with
# another's, and bindgen's output depends on libclang.
#
# V-kasan (KERNEL=6.12-kasan) is the same kernel with kernel/kasan.config
# merged on top, built with LLVM=-$SIMRUPT_LLVM_VERSION (Debian's clang, lld and
# llvm of that one version); its key adds that fragment and their versions.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/kernel/supported.sh"
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
RUSTC=${RUSTC:-/usr/bin/rustc}
export PATH="$PATH:$HOME/.cargo/bin"
fragment=$here/kernel/simrupt.config

say() { printf '\033[1m[kernel]\033[0m %s\n' "$*" >&2; }

kv=${KERNEL:-$SIMRUPT_DEFAULT_KERNEL} mode=build
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kv=$2; shift 2 ;;
    --print-kdir) mode=print; shift ;;
    --fetch) mode=fetch; shift ;;
    *) say "unknown argument $1"; exit 2 ;;
  esac
done
kernel_check "$kv"
pkg=$(kernel_package "$kv")
suite=$(kernel_suite "$kv")
fragments=("$fragment")
llvm=()
if [ "$(kernel_flavour "$kv")" = kasan ]; then
  fragments+=("$here/kernel/kasan.config")
  llvm=(LLVM=-"$SIMRUPT_LLVM_VERSION")
  for t in clang ld.lld llvm-ar llvm-nm llvm-objcopy; do
    command -v "$t-$SIMRUPT_LLVM_VERSION" >/dev/null ||
      { say "$t-$SIMRUPT_LLVM_VERSION missing: run scripts/deps.sh"; exit 1; }
  done
fi

# libclang for bindgen: the newest installed LLVM's (Linux 7.3 needs >= 17;
# Debian 12's default libclang is 14, so scripts/deps.sh installs libclang-19).
libclang=$(ls -d /usr/lib/llvm-*/lib/libclang.so 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$libclang" ]; then export LIBCLANG_PATH=${libclang%/libclang.so}; fi

# --- The source: a tarball from a Debian package ----------------------------

# Private apt state for suites the host does not list: its own sources list
# (the system's own Debian mirror, scripts/apt-env.sh), lists and caches, so
# `apt-get update` here changes nothing of the host's.
. "$here/scripts/apt-env.sh"
kapt() { apt_private "$CACHE/apt" "$suite" -- "$@"; }

if [ "$suite" = host ]; then
  pkgver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
  tarball=/usr/src/$pkg.tar.xz
  [ -f "$tarball" ] || { say "$tarball missing: run scripts/deps.sh"; exit 1; }
else
  pkgver=
  # Look the package up at most once a day; offline, use what was fetched.
  mkdir -p "$CACHE/apt"; stamp_upd=$CACHE/apt/updated-$suite
  if [ "$mode" != print ] && { [ ! -f "$stamp_upd" ] || [ -n "$(find "$stamp_upd" -mmin +1440)" ]; }; then
    say "looking up $pkg in Debian's $suite (private apt state in $CACHE/apt)"
    if kapt apt-get update -qq >"$CACHE/apt-update.log" 2>&1; then touch "$stamp_upd"
    else say "apt-get update failed (see $CACHE/apt-update.log); using what was fetched before"; fi
  fi
  pkgver=$(kapt apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$pkgver" ] || [ "$pkgver" = "(none)" ]; then
    pkgver=$(ls "$CACHE/pkg/$pkg" 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$pkgver" ] || { say "cannot find $pkg in Debian's $suite"; exit 1; }
  fi
  pkgdir=$CACHE/pkg/$pkg/$pkgver
  tarball=$pkgdir/usr/src/$pkg.tar.xz
  if [ ! -f "$tarball" ] && [ "$mode" != print ]; then
    say "fetching $pkg $pkgver from $suite (apt-get download, unpacked with dpkg-deb -x)"
    rm -rf "$pkgdir"; mkdir -p "$pkgdir/deb"
    (cd "$pkgdir/deb" && kapt apt-get download -qq "$pkg=$pkgver") >&2
    dpkg-deb -x "$pkgdir"/deb/*.deb "$pkgdir"
    rm -rf "$pkgdir/deb"
  fi
fi

srcroot=$CACHE/src/$pkg-$pkgver
src=$srcroot/$pkg

kernel_version() {
  awk -F' *= *' '/^VERSION/{v=$2} /^PATCHLEVEL/{p=$2} /^SUBLEVEL/{s=$2}
                 END{print v "." p "." s}' "$src/Makefile"
}

build_key() {
  { cat "${fragments[@]}"; "$RUSTC" --version; bindgen --version 2>/dev/null || echo no-bindgen
    basename "$(readlink -f "${libclang:-none}")"
    if ((${#llvm[@]})); then
      "clang-$SIMRUPT_LLVM_VERSION" --version | head -n 1; "ld.lld-$SIMRUPT_LLVM_VERSION" --version
    fi; } | sha256sum | cut -c1-12
}
# build-6.12.118-HASH, build-6.12.118-kasan-HASH
build_name() {
  local suffix=
  [ "$(kernel_flavour "$kv")" = kasan ] && suffix=-kasan
  echo "build-$(kernel_version)$suffix-$(build_key)"
}

if [ "$mode" = print ]; then
  if [ ! -f "$src/Makefile" ]; then
    say "Linux $kv: no kernel source unpacked yet: run 'make kernel KERNEL=$kv' first"; exit 1
  fi
  echo "$CACHE/$(build_name)"
  exit 0
fi

# Unpacked, or built, already: reuse it, without waiting for anything.
if [ "$mode" = fetch ] && [ -f "$src/Makefile" ]; then echo "$src"; exit 0; fi
if [ "$mode" = build ] && [ -f "$src/Makefile" ] && [ -f "$CACHE/$(build_name)/.simrupt-build-complete" ]; then
  say "reusing cached Linux $(kernel_version) build: $CACHE/$(build_name)"
  echo "$CACHE/$(build_name)"; exit 0
fi

# Otherwise one unpack or build at a time, whoever asks: `make check` builds
# the next kernels in the background while the first one's VM suites run
# (tests/run-all.sh), and a caller that needs a kernel being built waits
# here, then finds it built (the stamp check below).
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then
  say "Linux $kv: waiting for another kernel build to finish ($CACHE/.build.lock)"
  flock 9
fi

if [ ! -f "$src/Makefile" ]; then
  say "unpacking $tarball (Debian $pkg $pkgver) into $srcroot"
  rm -rf "$srcroot"; mkdir -p "$srcroot"
  tar -xJf "$tarball" -C "$srcroot"
fi
[ "$mode" = fetch ] && { echo "$src"; exit 0; }

ver=$(kernel_version)
kdir=$CACHE/$(build_name)
stamp=$kdir/.simrupt-build-complete

if [ -f "$stamp" ]; then
  say "reusing cached Linux $ver build: $kdir"
  echo "$kdir"; exit 0
fi

mk() { make -C "$src" O="$kdir" RUSTC="$RUSTC" "${llvm[@]}" "$@"; }

mkdir -p "$kdir"
say "configuring Linux $ver: tinyconfig + ${fragments[*]#"$here"/} (libclang: ${libclang:-default}${llvm:+, ${llvm[*]}})"
mk -s tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "${fragments[@]}" >/dev/null
mk -s olddefconfig >/dev/null

# Every option the fragment asks for must have survived olddefconfig.
bad=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) want=$line ;;
    "# CONFIG_"*" is not set") want=$line ;;
    *) continue ;;
  esac
  opt=${want#\# }; opt=${opt%%[= ]*}
  got=$(grep -E "^(# )?$opt[= ]" "$kdir/.config" || echo "# $opt is not set")
  if [ "$got" != "$want" ]; then say "config: wanted '$want', got '$got'"; bad=1; fi
done < <(cat "${fragments[@]}")
if ((bad)); then
  say "the fragment did not apply; the kernel's own diagnosis:"
  mk rustavailable >&2 || true
  exit 1
fi

jobs=$(( $(nproc) + 1 ))
log=$kdir/build.log
say "building Linux $ver bzImage and modules with -j$jobs ($( [ ${#llvm[@]} -gt 0 ] && echo "about 14 minutes on 2 cores: clang, KASAN" || echo "4-10 minutes on 2 cores"); full log: $log)"
start=$(date +%s)
set +e
mk -j"$jobs" bzImage modules 2>&1 | tee "$log" | {
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    case "$line" in
      *error*|*Error*) printf '  %s\n' "$line" ;;
      *) ((n % 200)) || printf '  [%4ds] %5d steps, now: %s\n' $(($(date +%s) - start)) "$n" "$line" ;;
    esac
  done >&2   # progress on stderr: stdout carries only KDIR, for callers
}
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  say "kernel build failed (exit $rc); last lines of $log:"; tail -n 40 "$log" >&2; exit "$rc"
fi
say "Linux $ver built in $(( $(date +%s) - start )) s: $kdir"
touch "$stamp"
echo "$kdir"
