#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Try simrupt as a new user would: in a freshly made, minimal Debian root
# (debootstrap, plus only git, make and ca-certificates: no rustup, no
# compiler), clone the project and run `make demo` and `make check` with a
# clean environment. Prints each step's result and time.
#
#   scripts/check-fresh-root.sh [--suite bookworm|trixie] [--ref REF]
#       [--steps "demo check"] [--kernel-cache DIR] [--lock FILE] [--backports-qemu]
#   make check-fresh-root SUITE=trixie
#
#   --suite S          Debian release of the root: bookworm (12, default) or trixie (13)
#   --ref REF          commit of this repository to clone (default: HEAD);
#                      uncommitted changes are not seen
#   --steps "..."      what to run in the root, in order (default: "demo check"):
#                        demo   make demo
#                        check  make check
#                        host   scripts/deps.sh, then tests/host.sh (the host
#                               tests only: no kernel build, no VM)
#   --kernel-cache DIR keep the root's ~/.cache/simrupt (kernel sources and
#                      builds, cargo's target directory) in DIR, so that a
#                      second run with the same DIR reuses the kernel builds.
#                      A quick re-check, not the real thing: without it every
#                      run is cold, as on a new machine.
#   --lock FILE        run each step under `flock FILE` (on a shared machine,
#                      at most one heavy job at a time)
#   --backports-qemu   before the clone, install qemu-utils from the suite's
#                      backports (then drop backports from the root's apt
#                      sources again): the state of this project's own
#                      machines, where Debian's own qemu-system-x86 would
#                      remove it
#
# Needs root and debootstrap. The roots live in
# ${SIMRUPT_FRESH_ROOTS:-~/.cache/simrupt/fresh-roots}/SUITE (made anew by each
# run, kept until the next one for inspection), the logs in .../logs/.
#
# One thing here is this network's peculiarity, not something users need:
# HTTPS goes through a proxy whose certificate only the host trusts, so the
# host's CA bundle is installed in the root (or cargo fails with "self-signed
# certificate in certificate chain").
set -euo pipefail
main() { # (the whole script: bash reads it completely before running it)
here=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm ref=HEAD steps="demo check" kcache= lock= bpqemu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --kernel-cache) kcache=$2; shift 2 ;;
    --lock) lock=$2; shift 2 ;;
    --backports-qemu) bpqemu=1; shift ;;
    -h|--help) sed -n '3,40p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$suite" in bookworm|trixie) ;; *) echo "--suite: bookworm or trixie, not '$suite'" >&2; exit 2 ;; esac
for s in $steps; do
  case "$s" in demo|check|host) ;; *) echo "--steps: demo, check or host, not '$s'" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "needs debootstrap: apt-get install debootstrap" >&2; exit 1; }

sha=$(git -C "$here" rev-parse --verify "$ref^{commit}")
base=${SIMRUPT_FRESH_ROOTS:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/fresh-roots}
root=$base/$suite
logs=$base/logs/$suite$( ((bpqemu)) && echo -bpqemu)-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$logs"
summary=$logs/summary.txt
# The mirrors this system's own apt uses (a local mirror or proxy has no other).
. "$here/scripts/apt-env.sh"
host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mirror=$(debian_mirror "$host_codename") || {
  echo "no Debian mirror for '$host_codename' in this system's apt sources" >&2; exit 1; }
security=$(debian_mirror "$host_codename-security" || true)

say() { printf '\033[1m[fresh-root %s]\033[0m %s\n' "$suite" "$*" >&2; }
report() { echo "$*" | tee -a "$summary"; }

# --- mounts, undone on any exit ---------------------------------------------

mounts_under() { awk -v r="$1/" 'index($2 "/", r) == 1 {print $2}' /proc/self/mounts | sort -r; }
unmount_all() {
  local m
  for m in $(mounts_under "$root"); do
    umount "$m" 2>/dev/null || umount -l "$m" || say "cannot unmount $m"
  done
}
trap unmount_all EXIT
trap 'exit 130' INT TERM
bind() { # bind SRC DIR: bind-mount SRC on the root's DIR
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
}

# in_root COMMAND: run a bash command in the root, as on a fresh login.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "$1"
}

# --- 1. a minimal Debian root ---------------------------------------------------

t0=$(date +%s)
if [ -e "$root" ]; then
  say "removing the previous root $root"
  unmount_all
  if [ -n "$(mounts_under "$root")" ]; then say "still mounted under $root; not removing it"; exit 1; fi
  # Deleting a root with kernel trees takes minutes: done aside, in the background.
  old=$base/.old-$suite-$$
  mv "$root" "$old"
  (ionice -c3 nice rm -rf --one-file-system "$old" &) 9>&-
fi
say "debootstrap --variant=minbase $suite (+ git, make, ca-certificates): log in $logs/debootstrap.log"
mkdir -p "$base/debs-$suite" "$root"
# --cache-dir keeps only the downloaded .debs of the base system.
debootstrap --variant=minbase --include=git,make,ca-certificates \
  --cache-dir="$base/debs-$suite" "$suite" "$root" "$mirror" > "$logs/debootstrap.log" 2>&1 || {
  tail -n 20 "$logs/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }

{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -z "$security" ] || echo "deb $security $suite-security main"
} > "$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This network's peculiarity (see the top): trust the host's CA bundle.
cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
# No service may start inside the root when a package is installed.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

bind /dev /dev
bind /dev/pts /dev/pts
bind /proc /proc
bind /sys /sys
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"   # not the host's
in_root 'update-ca-certificates' > "$logs/ca.log" 2>&1
if ((bpqemu)); then
  # As on this project's machines: qemu-utils from backports, installed by
  # someone else, while the apt sources list no backports.
  say "installing qemu-utils from $suite-backports, then dropping backports from the root's sources"
  echo "deb $mirror $suite-backports main" > "$root/etc/apt/sources.list.d/backports.list"
  in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t $suite-backports qemu-utils && rm /etc/apt/sources.list.d/backports.list && apt-get update -qq" \
    > "$logs/backports-qemu.log" 2>&1 || { tail -n 20 "$logs/backports-qemu.log" >&2; say "installing qemu-utils failed"; exit 1; }
fi

# The project, as `git clone` would give it.
git clone -q --no-hardlinks "$here" "$root/root/simrupt"
git -C "$root/root/simrupt" checkout -q --detach "$sha"
if [ -n "$kcache" ]; then
  mkdir -p "$kcache"
  bind "$(cd "$kcache" && pwd)" /root/.cache/simrupt
fi
t_root=$(( $(date +%s) - t0 ))

os=$(in_root '. /etc/os-release && echo "$PRETTY_NAME"')
report "== fresh root: $os, simrupt $(git -C "$here" log -1 --format='%h %s' "$sha" | cut -c1-70)"
report "   made $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) cores); logs in $logs"
tools=$(in_root 'for t in rustup cargo rustc rustfmt gcc; do command -v $t; done; true' | tr '\n' ' ')
report "   compilers in the root before the first step: ${tools:-none}"
report "   kernel cache: ${kcache:-none (cold)}"
if ((bpqemu)); then report "   preinstalled: qemu-utils $(in_root "dpkg-query -W -f='\${Version}' qemu-utils") (from $suite-backports; not in the root's sources)"; fi
report "root (debootstrap minbase + git make ca-certificates, CA bundle, clone): ${t_root} s"

# --- 2. the steps -------------------------------------------------------------------

declare -A CMD=(
  [demo]="make demo"
  [check]="make check"
  [host]="scripts/deps.sh && tests/host.sh"
)
failed=0
for s in $steps; do
  log=$logs/$s.log
  say "${CMD[$s]}: log in $log"
  if [ -n "$lock" ]; then
    exec 9>>"$lock"
    flock -n 9 || { say "waiting for $lock"; flock 9; }
  fi
  t=$(date +%s) rc=0
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/simrupt && ${CMD[$s]}" > "$log" 2>&1 9>&- || rc=$?
  dt=$(( $(date +%s) - t ))
  if [ -n "$lock" ]; then flock -u 9; exec 9>&-; fi
  if ((rc == 0)); then verdict=ok; else verdict="FAILED (exit $rc)"; failed=1; fi
  counts=$(awk '!seen[$0]++ { if (/^ok /) o++; if (/^FAIL /) f++; if (/^SKIP /) k++ }
                END { printf "%d ok, %d FAIL, %d SKIP lines", o, f, k }' "$log")
  case "$counts" in 0\ ok,\ 0\ FAIL,\ 0\ SKIP*) counts= ;; esac
  report "${CMD[$s]}: $verdict, $((dt / 60)) min $((dt % 60)) s${counts:+ ($counts)}"
  # What the step says about itself.
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E \
    '^[0-9]+ passed, [0-9]+ failed|^(FAIL|SKIP) |registered new simrupt device|Linux [0-9.]+ built in|^\[deps\] (Linux|installing (bindgen|Debian.s bindgen)|bindgen )' |
    awk '!seen[$0]++' | sed 's/^/   /' | tee -a "$summary" || true
  if ((rc != 0)); then tail -n 30 "$log" | sed 's/^/   | /' >&2; fi
done

report "total: $(( $(date +%s) - t0 )) s"
exit "$failed"
}
main "$@"
