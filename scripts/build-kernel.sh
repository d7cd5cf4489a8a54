#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) a debug Linux 6.12 kernel with CONFIG_RUST=y from Debian's
# linux-source-6.12, in a cache outside the clone, and print its build tree.
#
#   scripts/build-kernel.sh              build or reuse; prints KDIR on stdout
#                                        (progress and messages go to stderr)
#   scripts/build-kernel.sh --print-kdir print KDIR of an existing build only
#
# The build directory is keyed by the kernel version (read from the unpacked
# tree's Makefile), a hash of kernel/simrupt.config, and the versions of rustc
# and bindgen: Rust objects built by one rustc cannot be linked with another's.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
RUSTC=${RUSTC:-/usr/bin/rustc}
export PATH="$HOME/.cargo/bin:$PATH"
fragment=$here/kernel/simrupt.config
tarball=/usr/src/linux-source-6.12.tar.xz

say() { printf '\033[1m[kernel]\033[0m %s\n' "$*" >&2; }

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
srcroot=$CACHE/src/$pkgver
src=$srcroot/linux-source-6.12

kernel_version() {
  awk -F' *= *' '/^VERSION/{v=$2} /^PATCHLEVEL/{p=$2} /^SUBLEVEL/{s=$2}
                 END{print v "." p "." s}' "$src/Makefile"
}

build_key() {
  { cat "$fragment"; "$RUSTC" --version; bindgen --version; } | sha256sum | cut -c1-12
}

if [ "${1:-}" = "--print-kdir" ]; then
  if [ ! -f "$src/Makefile" ]; then
    say "no kernel source unpacked yet: run 'make kernel' first"; exit 1
  fi
  echo "$CACHE/build-$(kernel_version)-$(build_key)"
  exit 0
fi

[ -f "$tarball" ] || { say "$tarball missing: run scripts/deps.sh"; exit 1; }

if [ ! -f "$src/Makefile" ]; then
  say "unpacking $tarball (Debian linux-source-6.12 $pkgver) into $srcroot"
  rm -rf "$srcroot"; mkdir -p "$srcroot"
  tar -xJf "$tarball" -C "$srcroot"
fi

ver=$(kernel_version)
kdir=$CACHE/build-$ver-$(build_key)
stamp=$kdir/.simrupt-build-complete

if [ -f "$stamp" ]; then
  say "reusing cached Linux $ver build: $kdir"
  echo "$kdir"; exit 0
fi

mk() { make -C "$src" O="$kdir" RUSTC="$RUSTC" "$@"; }

mkdir -p "$kdir"
say "configuring Linux $ver: tinyconfig + kernel/simrupt.config"
mk -s tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "$fragment" >/dev/null
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
done < "$fragment"
if ((bad)); then
  say "the fragment did not apply (is rustc/bindgen/libclang usable? try: make -C $src O=$kdir RUSTC=$RUSTC rustavailable)"
  exit 1
fi

jobs=$(( $(nproc) + 1 ))
log=$kdir/build.log
say "building bzImage and modules with -j$jobs (about 4 minutes on 2 cores; full log: $log)"
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
