#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make native` as a learner on Debian 13 runs it, tested from any host: in a
# cached minimal Debian 13 root, scripts/native.sh builds simrupt.ko for
# Debian's stock trixie-backports kernel; Debian's own vmlinuz then boots in
# QEMU (scripts/vm.sh --bzimage) and runs tests/guest/native.sh.
#
#   tests/native.sh [--logs DIR] [--series 7.3]
#
# Prints "ok NAME" / "FAIL NAME: why" / "SKIP NAME: why" lines, names
# prefixed "native-7.3:"; exits 1 if any check failed.
#
# Checks: the root; native.sh's build (no warnings); that native.sh stops on
# a wrong Module.symvers (a crate hash changed) and names the crate; the
# module's vermagic; the guest suite on the stock kernel, and its console log
# scanned (tests/scan-log.sh).
#
# The root lives in ~/.cache/simrupt/native-test/root-trixie-KEY (KEY: a hash
# of what goes into it, below), made with debootstrap (the host's, or
# Debian's debootstrap package unpacked into the cache) from the host's own
# Debian mirror. Its own ~/.cache/simrupt keeps native.sh's caches (toolchain,
# source, metadata), so only the first run is cold. Needs root (chroot,
# mounts). A Debian 13 root, because Debian 13's rustc needs its C library.
set -uo pipefail
main() { # (the whole script: bash reads it completely before running it)
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIMRUPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt}
base=$CACHE/native-test
logs= series=7.3
while [ $# -gt 0 ]; do
  case "$1" in
    --logs) logs=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    *) echo "tests/native.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
logs=${logs:-$(mktemp -d /tmp/simrupt-native.XXXXXX)}
mkdir -p "$logs" "$base"
N=native-$series
failures=0
ok() { echo "ok $N:$1"; }
fail() { echo "FAIL $N:$1: $2"; failures=$((failures + 1)); }
skip() { echo "SKIP $N:$1: $2"; }
say() { printf '\033[1m[native-test]\033[0m %s\n' "$*" >&2; }

# debian_mirror [security]: the host's Debian mirror (its apt sources'
# URIs), so the root uses the same one; deb.debian.org if there is none.
# (One place for this; the project may grow a shared helper.)
debian_mirror() {
  local want=${1:-main} uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v w="$want" '
    /^URIs:/ { u = $2 } /^Suites:/ { sec = ($0 ~ /-security/) }
    /^$/ { if (u != "" && ((w == "security") == sec)) { print u; exit } u = "" }
    END { if (u != "" && ((w == "security") == sec)) print u }' | head -n 1)
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk -v w="$want" '{ sec = ($3 ~ /-security/) } (w == "security") == sec { print $2; exit }')
  fi
  if [ -n "$uri" ]; then echo "$uri"
  elif [ "$want" = security ]; then echo http://deb.debian.org/debian-security
  else echo http://deb.debian.org/debian; fi
}

[ "$(id -u)" -eq 0 ] || { skip root "needs root (debootstrap, chroot, mounts)"; exit 0; }

# --- The root --------------------------------------------------------------------

mirror=$(debian_mirror) secmirror=$(debian_mirror security)
suite=trixie
# What the root is made of; change any of it and the root is made anew.
# What scripts/native.sh installs itself (headers, build tools) is not here:
# a root made by an older recipe still gets it, as a learner's machine would.
include=make,ca-certificates
sources="deb $mirror $suite main
deb $mirror $suite-updates main
deb $secmirror $suite-security main
deb $mirror $suite-backports main"
recipe_version=1
key=$(printf '%s\n' "$suite" "$include" "$sources" "$recipe_version" | sha256sum | cut -c1-12)
root=$base/root-$suite-$key

mounts_under() { awk -v r="$1/" 'index($2 "/", r) == 1 {print $2}' /proc/self/mounts | sort -r; }
unmount_all() {
  local m
  for m in $(mounts_under "$root"); do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap unmount_all EXIT
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}

t0=$(date +%s)
if [ ! -f "$root/.complete" ]; then
  say "making a Debian 13 root in $root (debootstrap --variant=minbase $suite, $mirror)"
  for old in "$base"/root-"$suite"-*; do
    [ -e "$old" ] && [ -z "$(mounts_under "$old")" ] && rm -rf --one-file-system "$old"
  done
  rm -rf "$root"; mkdir -p "$root" "$base/debs-$suite"
  debootstrap=$(command -v debootstrap || true) dbenv=()
  if [ -z "$debootstrap" ]; then
    # Debian's debootstrap is a shell script: unpacked, it runs from anywhere.
    dbdir=$base/debootstrap
    if [ ! -x "$dbdir/usr/sbin/debootstrap" ]; then
      rm -rf "$dbdir"; mkdir -p "$dbdir/deb"
      (cd "$dbdir/deb" && apt-get download -qq -o APT::Sandbox::User=root debootstrap) >"$logs/debootstrap.log" 2>&1 &&
        dpkg-deb -x "$dbdir"/deb/*.deb "$dbdir"
    fi
    debootstrap=$dbdir/usr/sbin/debootstrap
    dbenv=(DEBOOTSTRAP_DIR="$dbdir/usr/share/debootstrap")
  fi
  if ! env "${dbenv[@]}" "$debootstrap" --variant=minbase --include="$include" \
      --cache-dir="$base/debs-$suite" "$suite" "$root" "$mirror" >>"$logs/debootstrap.log" 2>&1; then
    tail -n 20 "$logs/debootstrap.log" >&2
    fail root "debootstrap failed, see $logs/debootstrap.log"; exit 1
  fi
  echo "$sources" > "$root/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"   # no services start
  chmod +x "$root/usr/sbin/policy-rc.d"
  touch "$root/.complete"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in /dev /dev/pts /proc /sys; do mkdir -p "$root$m"; mount --bind "$m" "$root$m"; done
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
# Debian's package lists, refreshed at most once a day (kernels and rustc
# move with point releases; offline, the last lists do).
if [ ! -f "$root/.apt-updated" ] || [ -n "$(find "$root/.apt-updated" -mmin +1440)" ]; then
  if in_root 'apt-get update -qq' >"$logs/apt-update.log" 2>&1; then touch "$root/.apt-updated"
  elif [ -f "$root/.apt-updated" ]; then say "apt-get update failed in the root; using the lists of before"
  else fail root "apt-get update failed in the root, see $logs/apt-update.log"; exit 1; fi
fi
ok root
say "root ready in $(( $(date +%s) - t0 )) s"

# The kernel to build for: the one trixie-backports' linux-image-amd64
# points to (Debian's newest with Rust), e.g. 7.3.4+deb13-amd64.
rel=$(in_root "apt-cache show -o APT::Default-Release=$suite-backports linux-image-amd64 2>/dev/null" |
  awk '/^Depends:/ { if (match($0, /linux-image-[0-9][^ ,]*-amd64/)) print substr($0, RSTART + 12, RLENGTH - 12) }' |
  grep -E "^$series\." | sort -V | tail -n 1)
if [ -z "$rel" ]; then fail find-kernel "no Linux $series in Debian's $suite-backports"; exit 1; fi
ok find-kernel
say "building for Debian's $rel"

# The project, as it is in this clone (uncommitted changes included).
rm -rf "$root/root/simrupt"; mkdir -p "$root/root/simrupt"
(cd "$here" && git ls-files -co --exclude-standard -z | tar -c --null -T -) | tar -x -C "$root/root/simrupt"

# --- make native ------------------------------------------------------------------

t=$(date +%s)
if in_root "cd /root/simrupt && make native NATIVE_KERNEL=$rel" >"$logs/native-build.log" 2>&1; then
  ok build
else
  tail -n 25 "$logs/native-build.log"
  fail build "make native failed, see $logs/native-build.log"; exit 1
fi
say "make native: $(( $(date +%s) - t )) s"
# The module's own compiler output: from "building simrupt.ko" on.
if sed -n '/building simrupt.ko against/,$p' "$logs/native-build.log" | grep -E 'warning|error'; then
  fail build-warnings "the module's build warns, see $logs/native-build.log"
else
  ok build-warnings
fi
grep -q 'crate hashes match the kernel' "$logs/native-build.log" && ok crate-hashes-checked ||
  fail crate-hashes-checked "native.sh did not report its crate hash check"
ko=$root/root/simrupt/simrupt.ko
vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{print $1}')
[ "$vermagic" = "$rel" ] && ok vermagic || fail vermagic "simrupt.ko's vermagic is '$vermagic', not $rel"
cp "$ko" "$logs/simrupt.ko"
# The top half's code on one page, in the build for Debian's kernel too.
"$here/tests/hot-path.sh" "$logs/simrupt.ko" | sed -E "s/^(ok|FAIL) /\1 $N:/" > "$logs/hot-path.txt"
cat "$logs/hot-path.txt"
failures=$((failures + $(grep -c '^FAIL ' "$logs/hot-path.txt")))

# A wrong Module.symvers (the kernel crate's hash changed) must stop the
# build before simrupt is built, naming the crate.
in_root "sed -E 's/Cs[0-9A-Za-z]+_6kernel/CsWRONGHASH0_6kernel/g' /usr/src/linux-headers-$rel/Module.symvers > /tmp/wrong.symvers"
if in_root "cd /root/simrupt && scripts/native.sh --release $rel --symvers /tmp/wrong.symvers" >"$logs/native-wrong-symvers.log" 2>&1; then
  fail detects-wrong-symvers "native.sh accepted a Module.symvers with another kernel crate hash"
elif grep -q 'crate kernel: rebuilt as Cs.*the kernel exports CsWRONGHASH0_6kernel' "$logs/native-wrong-symvers.log"; then
  ok detects-wrong-symvers
else
  fail detects-wrong-symvers "native.sh failed, but not naming the crate: see $logs/native-wrong-symvers.log"
fi

# As the running kernel (a stand-in `uname` in the root): headers of another
# Debian version than the running kernel's (upgraded, not rebooted) must
# stop it, saying so; with the right one it prints the insmod line.
fake_uname() { # fake_uname DEBVER: a `uname` in the root's /tmp/fake, for Debian's $rel at DEBVER
  mkdir -p "$root/tmp/fake"
  cat > "$root/tmp/fake/uname" <<EOF
#!/bin/sh
case "\$1" in
  -r) echo '$rel' ;;
  -v) echo '#1 SMP PREEMPT_DYNAMIC Debian $1 (2026-01-01)' ;;
  *) exec /usr/bin/uname "\$@" ;;
esac
EOF
  chmod +x "$root/tmp/fake/uname"
  echo "export PATH=/tmp/fake:\$PATH"
}
debver=$(in_root "dpkg-query -W -f='\${Version}' linux-headers-$rel")
if in_root "$(fake_uname "$debver+other") && cd /root/simrupt && scripts/native.sh" >"$logs/native-not-rebooted.log" 2>&1; then
  fail detects-not-rebooted "native.sh built for a running kernel whose Debian version is not the headers'"
elif grep -q 'the kernel was upgraded and the machine not rebooted' "$logs/native-not-rebooted.log"; then
  ok detects-not-rebooted
else
  fail detects-not-rebooted "native.sh failed, but not saying why: see $logs/native-not-rebooted.log"
fi
if in_root "$(fake_uname "$debver") && cd /root/simrupt && scripts/native.sh" >"$logs/native-running.log" 2>&1 &&
    grep -q 'sudo insmod /root/simrupt/simrupt.ko' "$logs/native-running.log"; then
  ok running-kernel-insmod-line
else
  fail running-kernel-insmod-line "no insmod line for the running kernel: see $logs/native-running.log"
fi

# A Debian kernel without Rust (trixie's own 6.12) is refused, pointing to make shell.
rel_norust=$(in_root "apt-cache show -o APT::Default-Release=$suite linux-image-amd64 2>/dev/null" |
  awk '/^Depends:/ { if (match($0, /linux-image-[0-9][^ ,]*-amd64/)) print substr($0, RSTART + 12, RLENGTH - 12) }' |
  grep -E '^6\.12\.' | sort -V | tail -n 1)
if [ -z "$rel_norust" ]; then
  skip refuses-kernel-without-rust "no 6.12 kernel in Debian's $suite"
elif in_root "cd /root/simrupt && make native NATIVE_KERNEL=$rel_norust" >"$logs/native-norust.log" 2>&1; then
  fail refuses-kernel-without-rust "make native went on for $rel_norust, which has no CONFIG_RUST"
elif grep -q 'built without Rust' "$logs/native-norust.log" && grep -q "make shell" "$logs/native-norust.log"; then
  ok refuses-kernel-without-rust
else
  fail refuses-kernel-without-rust "make native failed for $rel_norust, but not saying why: see $logs/native-norust.log"
fi

# --- Debian's own kernel, booted --------------------------------------------------

vmlinuz=$root/root/.cache/simrupt/native/vmlinuz-$rel/usr/lib/modules/$rel/vmlinuz
if [ ! -f "$vmlinuz" ]; then
  in_root "d=/root/.cache/simrupt/native/vmlinuz-$rel; rm -rf \$d; mkdir -p \$d/deb && cd \$d/deb &&
    apt-get download -qq -o APT::Sandbox::User=root linux-binary-$rel && dpkg-deb -x *.deb \$d && rm -rf \$d/deb" \
    >"$logs/vmlinuz.log" 2>&1
fi
if [ ! -f "$vmlinuz" ]; then fail vmlinuz "no Debian vmlinuz for $rel, see $logs/vmlinuz.log"; exit 1; fi
ok vmlinuz

# QEMU and busybox: the host's (scripts/deps.sh installs them); on a host
# without them, the root's own (installed there once), with vm.sh run there.
vmlog=$logs/vm-native-$series.log
guest_rel=/root/.cache/simrupt/native/vmlinuz-$rel/usr/lib/modules/$rel/vmlinuz
if command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ]; then
  unmount_all
  if [ ! -x "$here/tests/guest/simrupt_test" ]; then
    gcc -static -O2 -Wall -Wextra -Werror -o "$here/tests/guest/simrupt_test" "$here/tests/guest/simrupt_test.c"
  fi
  say "booting Debian's own $rel in QEMU with simrupt.ko from make native"
  "$here/scripts/vm.sh" --bzimage "$vmlinuz" --log "$vmlog" --timeout 900 \
    "$here/tests/guest/native.sh" "$here/tests/guest/lib.sh" "$logs/simrupt.ko" > "$logs/lines-vm" 2>&1
  rc=$?
else
  say "no qemu-system-x86_64 or /bin/busybox on the host: booting from inside the root"
  if ! in_root 'command -v qemu-system-x86_64 >/dev/null && test -x /bin/busybox ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static cpio' \
      >"$logs/root-qemu.log" 2>&1; then
    fail vm "cannot install QEMU in the root, see $logs/root-qemu.log"; exit 1
  fi
  in_root 'cd /root/simrupt && x86_64-linux-gnu-gcc-14 -static -O2 -Wall -Wextra -Werror -o tests/guest/simrupt_test tests/guest/simrupt_test.c' \
    >"$logs/root-guest-test.log" 2>&1 || { fail vm "guest test program does not build, see $logs/root-guest-test.log"; exit 1; }
  say "booting Debian's own $rel in QEMU (the root's) with simrupt.ko from make native"
  in_root "cd /root/simrupt && scripts/vm.sh --bzimage $guest_rel --log /tmp/vm-native.log --timeout 900 tests/guest/native.sh tests/guest/lib.sh simrupt.ko" \
    > "$logs/lines-vm" 2>&1
  rc=$?
  cp "$root/tmp/vm-native.log" "$vmlog"
  unmount_all
fi
sed -E "s/^(ok|FAIL|SKIP) /\\1 $N:vm-/" "$logs/lines-vm" | grep -E '^(ok|FAIL|SKIP) '
failures=$((failures + $(grep -c '^FAIL ' "$logs/lines-vm")))
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$logs/lines-vm"; then fail vm "guest exited $rc, see $vmlog"; fi
if grep -q "SIMRUPT-GUEST-START $rel" "$vmlog"; then ok vm-stock-kernel-booted
else fail vm-stock-kernel-booted "the guest did not run $rel, see $vmlog"; fi
if "$here/tests/scan-log.sh" "$vmlog" > "$logs/scan-native.txt"; then ok logscan
else fail logscan "$(head -n 3 "$logs/scan-native.txt" | tr '\n' ' ')"; fi
[ "$failures" -eq 0 ]
}
main "$@"
