# SPDX-License-Identifier: GPL-2.0
# The kernels simrupt supports, pinned by major.minor in this one place.
# Sourced by the scripts; the patch version comes from the Debian package.
#
#   SIMRUPT_KERNELS   every supported kernel, the default (the LTS) first
#   kernel_package V  the Debian package holding V's source tarball
#   kernel_suite V    where that package comes from: "host" (the host's own
#                     apt sources, installed by scripts/deps.sh) or a Debian
#                     suite fetched through a private apt state (never /etc/apt)
SIMRUPT_KERNELS="6.12 7.3"
SIMRUPT_DEFAULT_KERNEL=6.12

kernel_package() { echo "linux-source-$1"; }

kernel_suite() {
  case "$1" in
    6.12) echo host ;;             # Debian 12 and 13 both carry linux-source-6.12
    7.3) echo trixie-backports ;;  # the newest kernel Debian ships (Debian 13 backports)
    *) return 1 ;;
  esac
}

# kernel_check V: fails, with the list of supported kernels, for any other V.
kernel_check() {
  case " $SIMRUPT_KERNELS " in
    *" $1 "*) return 0 ;;
  esac
  echo "unsupported KERNEL=$1: choose one of $SIMRUPT_KERNELS" >&2
  return 1
}
