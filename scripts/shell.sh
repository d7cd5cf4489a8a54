#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make shell`: a root shell in the project's test kernel, on this terminal.
#
#   make shell [KERNEL=6.12|7.3] [LESSON=name]
#       build what is missing (as make demo does), boot the VM, and give this
#       terminal its console; simrupt.ko is not loaded: you type insmod.
#       Run it again, in another terminal of the same clone, while the VM
#       runs: that terminal becomes a second (and a third) shell in the same VM.
#   make module [KERNEL=...]
#       rebuild simrupt.ko in this clone for that test kernel; in the running
#       VM, `rmmod simrupt; insmod /host/simrupt.ko` loads it, no reboot.
#
# In the guest: busybox, plus the real util-linux dmesg (with -w), taskset and
# chrt, kmod's insmod/rmmod/lsmod/modinfo (all copied from this machine with
# their libraries), simrupt_test, debugfs and tracefs mounted, and this clone
# at /host (9p over virtio, read-only). /simrupt.ko is the module as built at
# boot (with LESSON=name: the lesson's build).
#
# Leaving: `poweroff` or Ctrl-D in the first terminal; a hung guest: Ctrl-A
# then X (QEMU's own key). The terminal's settings are restored either way.
# A boot that stalls before the first prompt (RCU's stall report, under
# emulation on a busy machine) is stopped and booted once more, saying so.
#
# SIMRUPT_SHELL_LOG=FILE also writes the first terminal's output (the
# console) to FILE, for tests/shell/run.sh's log scan.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. kernel/supported.sh
kv=${KERNEL:-$SIMRUPT_DEFAULT_KERNEL}
kernel_check "$kv"
lesson=${LESSON:-}
mode=shell
[ "${1:-}" = --module ] && mode=module
export PATH="$PATH:/usr/sbin:/sbin:$HOME/.cargo/bin"

say() { printf '\033[1m[shell]\033[0m %s\n' "$*" >&2; }
die() { say "$@"; exit 1; }

# One VM per clone, kernel and lesson; its serial ports and QEMU's pid live here.
run=${XDG_RUNTIME_DIR:-/tmp}/simrupt-$(id -u)/shell-$kv${lesson:+-$lesson}-$(printf %s "$here" | sha256sum | cut -c1-8)
running() { [ -f "$run/qemu.pid" ] && kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; }

# build_module KDIR: simrupt.ko in the clone, for KDIR's kernel. Objects built
# for another kernel are cleaned first (.simrupt-kdir remembers which).
build_module() {
  local kdir=$1
  if [ "$(cat .simrupt-kdir 2>/dev/null)" != "$kdir" ]; then
    make -s KDIR="$kdir" clean >/dev/null 2>&1 || true
  fi
  # LESSON= : `make shell LESSON=x` must not turn the clone's module into the lesson.
  make -s KDIR="$kdir" RUSTC=/usr/bin/rustc LESSON=
  echo "$kdir" > .simrupt-kdir
}

if [ "$mode" = module ]; then
  kdir=$(scripts/build-kernel.sh --kernel "$kv" | tail -n 1)
  build_module "$kdir"
  say "built $here/simrupt.ko for Linux $kv; in the VM: rmmod simrupt; insmod /host/simrupt.ko"
  exit 0
fi

[ -t 0 ] && [ -t 1 ] || die "make shell needs a terminal (its input and output are the VM's console)"

if running; then
  say "the Linux $kv VM of this clone is running: opening another terminal into it"
  exec python3 scripts/shell/attach.py "$run"
fi

# --- Build what is missing ------------------------------------------------------
scripts/deps.sh
kdir=$(scripts/build-kernel.sh --kernel "$kv" | tail -n 1)
say "building simrupt.ko against Linux $kv"
build_module "$kdir"
rm -rf "$run"; mkdir -p "$run"
trap 'rm -rf "$run"' EXIT
ko=$here/simrupt.ko
if [ -n "$lesson" ]; then
  say "building the lesson $lesson (in a copy of the tree; your simrupt.ko stays the normal module)"
  ko=$(scripts/lesson.sh --kdir "$kdir" build "$lesson" "$run/lesson")
fi
cc() { gcc -static -O2 -Wall -Wextra -Werror -o "$@"; }
cc "$run/simrupt_test" tests/guest/simrupt_test.c
cc "$run/resize" scripts/shell/resize.c

# --- The guest's root file system ------------------------------------------------
root=$run/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,host,root}
cp /bin/busybox "$root/bin/busybox"
ln -s bin/busybox "$root/init"
ln -s busybox "$root/bin/sh"   # /etc/rc installs the other applets
# copy_prog PATH...: programs of this machine, with their libraries and loader.
copy_prog() {
  local p lib
  for p in "$@"; do
    install -D -m 755 "$(readlink -f "$p")" "$root$p"
    for lib in $(ldd "$p" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      [ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
    done
  done
}
copy_prog /usr/bin/dmesg /usr/bin/taskset /usr/bin/chrt /bin/kmod
mv "$root/bin/kmod" "$root/usr/bin/kmod"
for t in insmod rmmod lsmod modinfo modprobe; do ln -s ../bin/kmod "$root/usr/sbin/$t"; done
install -m 755 "$run/simrupt_test" "$run/resize" "$root/usr/bin/"
[ -d /lib/terminfo ] && cp -a /lib/terminfo "$root/lib/"   # for TERM-aware tools
cp "$ko" "$root/simrupt.ko"
if [ -n "$lesson" ]; then
  cp tests/guest/lib.sh "$root/lib.sh"
  [ -f "lessons/$lesson.sh" ] && cp "lessons/$lesson.sh" "$root/lesson.sh"
fi
rel=$(cat "$kdir/include/config/kernel.release")

cat > "$root/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:/bin/sh /etc/shell-main
ttyS1::askfirst:/bin/sh /etc/shell-more
ttyS2::askfirst:/bin/sh /etc/shell-more
EOF
cat > "$root/etc/rc" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t 9p -o trans=virtio,version=9p2000.L,ro host /host 2>/dev/null ||
  echo "(the host's clone could not be mounted at /host)"
hostname simrupt-vm
EOF
cat > "$root/etc/profile" <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
# Debian's static busybox runs its own applets before anything on PATH: the
# real tools copied into /usr/bin and /usr/sbin (dmesg -w, ...) go first.
for p in /usr/sbin/* /usr/bin/*; do alias "${p##*/}=$p"; done
# "(vm)" tells this terminal from the host's.
PS1='(vm) \w # '
# A serial line carries no window size: ask the terminal (run it again after resizing).
resize 2>/dev/null
cd /
EOF
# The first terminal: a banner, a login shell, and power off when it ends.
{
  echo '#!/bin/sh'
  echo 'cat <<BANNER'
  echo ""
  echo "simrupt VM: Linux $rel (the project's debug kernel), \$(grep -c ^processor /proc/cpuinfo) CPUs, you are root."
  if [ -n "$lesson" ]; then
    echo "  /simrupt.ko   the lesson $lesson: $(sed -n '/^---$/q; s/^summary: //p' "lessons/$lesson.txt")"
    [ -f "lessons/$lesson.sh" ] && echo "  sh /lesson.sh what make lesson does to trigger it (lessons/$lesson.sh)"
  else
    echo "  /simrupt.ko   simrupt as built when this VM started"
  fi
  echo "  /host         your clone, live: after 'make module' on the host, /host/simrupt.ko is the new build"
  echo "Try:"
  echo "  insmod /simrupt.ko delay=50    load it (its parameters: modinfo /simrupt.ko)"
  echo "  cat /dev/simrupt               the bytes the timer produces; Ctrl-C stops cat"
  echo "  dmesg | grep simrupt           what each stage logged, with its CPU and context"
  echo "  dmesg -w                       follow the log: best in a second terminal"
  echo "  rmmod simrupt                  unload"
  echo "Second terminal: 'make shell KERNEL=$kv${lesson:+ LESSON=$lesson}' again, on the host, in this clone."
  echo "Edit and reload: 'make module KERNEL=$kv' on the host, then here: rmmod simrupt; insmod /host/simrupt.ko"
  echo "Leave: poweroff, or Ctrl-D. If the VM hangs: Ctrl-A, then X."
  echo 'BANNER'
  echo 'sh -l'
  echo 'poweroff'
} > "$root/etc/shell-main"
# The other terminals: a shell, the exit marker, and the next shell when the
# next attach presses Enter. The script never ends: when the last file on a
# serial port closes, what the UART has not sent yet is thrown away, and an
# exit right after the marker lost or cut it in about one exit in ten (the
# learner's terminal then stayed in the VM); and a port that init reopens
# can eat the next attach's Enter while it does.
cat > "$root/etc/shell-more" <<'EOF'
#!/bin/sh
while :; do
  sh -l
  # scripts/shell/attach.py leaves when it sees this.
  printf '\033]simrupt;shell-exited\007'
  read -r _ || sleep 1
done
EOF
chmod +x "$root/etc/rc"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/initramfs.gz"

# --- Boot, with this terminal as the console -----------------------------------------
# A boot that stalls before the shell starts is booted once more. Under QEMU's
# emulation on a busy machine, a virtual CPU sometimes stops taking timer
# interrupts while idle, early in boot: RCU reports a stall ("timer wakeup
# didn't happen") and the shell never comes (seen in make check; scripts/vm.sh
# boots its guests again the same way). Nothing has been typed yet, so a
# second boot loses nothing. A watchdog reads the console (QEMU's logfile)
# until the first prompt; the first boot's console is kept as
# boot-stall-KERNEL-1.log next to this VM's directory.
# SIMRUPT_SHELL_STALL_RE=RE (tests only) counts RE before the first prompt as a
# stall, in the first SIMRUPT_SHELL_STALL_BOOTS boots (default: both).
stall_re=$SIMRUPT_BOOT_STALL_RE
console=${SIMRUPT_SHELL_LOG:-$run/console.log}
stall_log() { echo "$(dirname "$run")/boot-stall-$kv${lesson:+-$lesson}-$1.log"; }
# stalled: the console showed a stall before the first prompt.
stalled() { sed '/(vm) \/ # /q' "$console" 2>/dev/null | grep -qE -- "$1"; }
watch_boot() { # RE: stop QEMU if the console shows RE before the first prompt
  local pid
  while sleep 2; do
    pid=$(cat "$run/qemu.pid" 2>/dev/null) || continue
    kill -0 "$pid" 2>/dev/null || return 0
    if stalled "$1"; then touch "$run/stalled"; kill "$pid"; return 0; fi
    grep -qF '(vm) / # ' "$console" && return 0
  done
}
for try in 1 2; do
  re=$stall_re
  [ -n "${SIMRUPT_SHELL_STALL_RE:-}" ] && ((try <= ${SIMRUPT_SHELL_STALL_BOOTS:-2})) && re=$SIMRUPT_SHELL_STALL_RE
  rm -f "$run/qemu.pid" "$run/stalled" "$run"/ttyS*.sock "$console"
  watch_boot "$re" &
  watchdog=$!
  if ((try == 1)); then say "booting Linux $rel in QEMU (2 CPUs, software emulation): a few seconds"; fi
  qemu_rc=0
  qemu-system-x86_64 -accel tcg -smp 2 -m 1G -nodefaults -display none -no-reboot \
    -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$run/initramfs.gz" \
    -append "console=ttyS0 loglevel=5 log_buf_len=8M panic=-1 TERM=${TERM:-vt100}$(kernel_cmdline_extra "$kdir")" \
    -chardev "stdio,id=con,mux=on,signal=off,logfile=$console" -serial chardev:con -mon chardev=con,mode=readline \
    -serial "unix:$run/ttyS1.sock,server=on,wait=off" -serial "unix:$run/ttyS2.sock,server=on,wait=off" \
    -virtfs "local,path=$here,mount_tag=host,security_model=none,readonly=on" \
    -pidfile "$run/qemu.pid" || qemu_rc=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  stty sane 2>/dev/null || true
  [ -f "$run/stalled" ] || break
  cp "$console" "$(stall_log "$try")"
  echo
  if ((try == 1)); then
    say "the VM stalled while booting (RCU reported a stall before the shell started:"
    say "QEMU's emulation on a busy machine); its console is in $(stall_log 1)."
    say "Booting it again."
  else
    die "the VM stalled while booting, twice (consoles: $(stall_log 1), $(stall_log 2)). Try again when this machine is less busy."
  fi
done
echo
say "the VM is off (QEMU exit $qemu_rc); back on the host"
