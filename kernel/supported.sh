# SPDX-License-Identifier: GPL-2.0
# The kernels simrupt supports, pinned by major.minor in this one place.
# Sourced by the scripts; the patch version comes from the Debian package.
#
#   SIMRUPT_KERNELS   every supported kernel, the default (the LTS) first
#   SIMRUPT_KASAN_KERNELS  those that also have a KASAN test kernel, named
#                     V-kasan (KERNEL=6.12-kasan): built with LLVM=1 (clang),
#                     kernel/kasan.config on top of kernel/simrupt.config
#   SIMRUPT_CHECK_KERNELS  what `make check` runs, in order
#   kernel_base V     6.12-kasan -> 6.12 (the source it is built from)
#   kernel_flavour V  kasan or debug
#   kernel_package V  the Debian package holding V's source tarball
#   kernel_suite V    where that package comes from: "host" (the host's own
#                     apt sources, installed by scripts/deps.sh) or a Debian
#                     suite fetched through a private apt state (never /etc/apt)
SIMRUPT_KERNELS="6.12 7.3"
SIMRUPT_DEFAULT_KERNEL=6.12
SIMRUPT_KASAN_KERNELS="6.12"
SIMRUPT_CHECK_KERNELS="6.12 7.3 6.12-kasan"
# The clang/LLVM a KASAN kernel is built with: one version, from Debian itself
# (Debian 12 and 13 both carry clang-19, lld-19 and llvm-19).
SIMRUPT_LLVM_VERSION=19

kernel_base() { echo "${1%-kasan}"; }
kernel_flavour() { case "$1" in *-kasan) echo kasan ;; *) echo debug ;; esac; }

kernel_package() { echo "linux-source-$(kernel_base "$1")"; }

kernel_suite() {
  case "$(kernel_base "$1")" in
    6.12) echo host ;;             # Debian 12 and 13 both carry linux-source-6.12
    7.3) echo trixie-backports ;;  # the newest kernel Debian ships (Debian 13 backports)
    *) return 1 ;;
  esac
}

# kernel_check V: fails, with the list of supported kernels, for any other V.
kernel_check() {
  local k
  for k in $SIMRUPT_KERNELS; do [ "$1" = "$k" ] && return 0; done
  for k in $SIMRUPT_KASAN_KERNELS; do [ "$1" = "$k-kasan" ] && return 0; done
  echo "unsupported KERNEL=$1: choose one of $SIMRUPT_KERNELS$(printf ' %s-kasan' $SIMRUPT_KASAN_KERNELS)" >&2
  return 1
}

# kernel_cmdline_extra KDIR: boot options that kernel's build needs (vm.sh,
# shell.sh). A KASAN kernel: slub_debug=FZPU switches on SLUB's own checks
# (sanity, red zones, poisoning, owner tracking), kasan_multi_shot prints
# every KASAN report, not only the first.
kernel_cmdline_extra() {
  if grep -q '^CONFIG_KASAN=y' "$1/.config" 2>/dev/null; then echo " slub_debug=FZPU kasan_multi_shot"; fi
}

# RCU's report of a guest that stalled: under QEMU's emulation on a loaded
# host a virtual CPU sometimes stops taking timer interrupts while idle,
# early in boot. vm.sh and tests/shell/run.sh boot once more when it comes
# before the guest's script or prompt.
SIMRUPT_BOOT_STALL_RE="rcu: INFO: rcu_(preempt|sched) (self-)?detected stalls?|timer wakeup didn't happen"
