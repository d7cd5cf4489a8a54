#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scripts/deps.sh's install planner (plan_install in scripts/apt-env.sh), fed
# recorded apt output instead of asking apt: no root, no network, no VM.
#
# The recordings in this folder are real, from a Debian 12 machine with
# qemu-utils 1:10.0.2+ds-2+deb13u1~bpo12+1 (bookworm-backports) installed:
#   host-qemu-system-x86.sim   apt-get -s install qemu-system-x86 (removes qemu-utils)
#   bp-qemu-system-x86.sim     the same with bookworm-backports added, -t bookworm-backports
#   madison-qemu-utils.txt     apt-cache madison qemu-utils, bookworm-backports added
# The cargo case is written by hand in the same form ("Remv NAME [VERSION]").
#
# Prints "ok deps-plan-NAME" or "FAIL deps-plan-NAME: why" per case.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
fx=$here/tests/deps
. "$here/scripts/apt-env.sh"
BP_SUITE=bookworm-backports

# The machine each case describes: fixture files per package, installed versions.
declare -A SIM_HOST SIM_BP INSTALLED MADISON
apt_sim() {
  local where=$1 p; shift
  for p in "$@"; do
    if [ "$where" = host ]; then f=${SIM_HOST[$p]:-}; else f=${SIM_BP[$p]:-}; fi
    if [ -n "$f" ]; then cat "$fx/$f"; else echo "Inst $p (1.0 Debian:12/oldstable [amd64])"; fi
  done
}
apt_installed() { echo "${INSTALLED[$1]:-}"; }
apt_origin() {
  local v=${INSTALLED[$1]:-} f=${MADISON[$1]:-}
  [ -n "$v" ] && [ -n "$f" ] || return 0
  awk -F' *[|] *' -v v="$v" '$2 == v { split($3, a, " "); s = a[2]; sub("/.*", "", s); print s; exit }' "$fx/$f"
}
apt_candidate_bp() { awk -v p="$1" '$1 == "Inst" && $2 == p { sub(/^\(/, "", $3); print $3; exit }' "$fx/${SIM_BP[$1]}"; }
reset() { SIM_HOST=() SIM_BP=() INSTALLED=() MADISON=(); }

check() { # check NAME CONDITION-DESCRIPTION TEST...
  local name=$1 why=$2; shift 2
  if "$@"; then echo "ok deps-plan-$name"; else echo "FAIL deps-plan-$name: $why"; fi
}
has() { printf '%s\n' "${@:2}" | grep -qF -- "$1"; }
hasnt() { ! has "$@"; }

# 1. Backports QEMU installed: qemu-system-x86 comes from bookworm-backports,
#    the rest from the system's suites, and one line says so.
reset
SIM_HOST[qemu-system-x86]=host-qemu-system-x86.sim
SIM_BP[qemu-system-x86]=bp-qemu-system-x86.sim
INSTALLED[qemu-utils]=1:10.0.2+ds-2+deb13u1~bpo12+1
MADISON[qemu-utils]=madison-qemu-utils.txt
plan_install rustc-web qemu-system-x86 busybox-static; rc=$?
check backports-sibling "plan failed: ${PLAN_ERR[*]:-}" test "$rc" = 0
check backports-sibling-suite "PLAN_BP='${PLAN_BP[*]:-}' PLAN_HOST='${PLAN_HOST[*]:-}'" \
  test "${PLAN_BP[*]:-}|${PLAN_HOST[*]:-}" = "qemu-system-x86|rustc-web busybox-static"
check backports-sibling-note "notes: ${PLAN_NOTES[*]:-none}" \
  test "${PLAN_NOTES[*]:-}" = "qemu-system-x86: taken from bookworm-backports (1:10.0.2+ds-2+deb13u1~bpo12+1), where the installed qemu-utils came from"

# 2. Nothing removed: everything from the system's suites, silently.
reset
plan_install rustc-web qemu-system-x86; rc=$?
check no-conflict "rc=$rc PLAN_HOST='${PLAN_HOST[*]:-}' notes='${PLAN_NOTES[*]:-}'" \
  test "$rc|${PLAN_HOST[*]:-}|${PLAN_NOTES[*]:-}|${PLAN_BP[*]:-}" = "0|rustc-web qemu-system-x86||"

# 3. Debian 13 with the 'cargo' package: cargo-web would remove it. Refused,
#    naming both packages, with the cargo/rustup explanation.
reset
printf 'Remv cargo [1.85.0+dfsg1-1]\nInst cargo-web (1.96.0+dfsg1-1~deb13u1 Debian:13/stable [amd64])\n' > "${TMPDIR:-/tmp}/plan-cargo.sim"
SIM_HOST[cargo-web]=$(realpath --relative-to="$fx" "${TMPDIR:-/tmp}/plan-cargo.sim")
INSTALLED[cargo]=1.85.0+dfsg1-1
plan_install cargo-web rustfmt-web; rc=$?
msg=${PLAN_ERR[*]:-}
check cargo-refused "rc=$rc" test "$rc" = 1
check cargo-names-both "message: $msg" has "installing cargo-web would REMOVE cargo 1.85.0+dfsg1-1" "$msg"
check cargo-explains "message: $msg" has "conflict with the 'cargo' and 'rustup' packages" "$msg"
check cargo-changes-nothing "message: $msg" has "Nothing was changed." "$msg"
rm -f "${TMPDIR:-/tmp}/plan-cargo.sim"

# 4. A removal with no backports way out (the removed package is in no suite
#    this system lists): refused, naming both packages and a way forward, and
#    no longer blaming cargo or rustup.
reset
SIM_HOST[qemu-system-x86]=host-qemu-system-x86.sim
INSTALLED[qemu-utils]=1:10.0.2+ds-2+deb13u1~bpo12+1
plan_install qemu-system-x86; rc=$?
msg=${PLAN_ERR[*]:-}
check local-refused "rc=$rc" test "$rc" = 1
check local-names-both "message: $msg" has "installing qemu-system-x86 would REMOVE qemu-utils 1:10.0.2+ds-2+deb13u1~bpo12+1, from no suite this system lists" "$msg"
check local-way-forward "message: $msg" has "or remove qemu-utils (apt-get remove qemu-utils) and run this again" "$msg"
check local-no-cargo-blame "message: $msg" hasnt "cargo" "$msg"

# 5. Backports has the sibling, but taking it from there would remove
#    something too: refused, never a removal.
reset
SIM_HOST[qemu-system-x86]=host-qemu-system-x86.sim
SIM_BP[qemu-system-x86]=host-qemu-system-x86.sim
INSTALLED[qemu-utils]=1:10.0.2+ds-2+deb13u1~bpo12+1
MADISON[qemu-utils]=madison-qemu-utils.txt
plan_install qemu-system-x86; rc=$?
msg=${PLAN_ERR[*]:-}
check backports-also-removes "rc=$rc PLAN_BP='${PLAN_BP[*]:-}' message: $msg" \
  test "$rc|${PLAN_BP[*]:-}" = "1|"
check backports-also-removes-says "message: $msg" has "from bookworm-backports would remove something too" "$msg"

# 6. The real parser of the system's sources, on a deb822 and a one-line file.
tmp=$(mktemp -d)
mkdir -p "$tmp/etc/apt/sources.list.d"
cat > "$tmp/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://mirror.example.lan/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://other.example.lan/debian
Suites: bookworm
Components: main
EOF
echo 'deb [arch=amd64 signed-by=/k.gpg] http://sec.example.lan/debian-security bookworm-security main' > "$tmp/etc/apt/sources.list"
got=$(sed "s|/etc/apt|$tmp/etc/apt|g" "$here/scripts/apt-env.sh" > "$tmp/apt-env.sh"; . "$tmp/apt-env.sh"
      echo "$(debian_mirror bookworm) $(debian_mirror bookworm-security) $(debian_signed_by bookworm-security)")
check mirror-from-sources "got '$got'" \
  test "$got" = "http://mirror.example.lan/debian http://sec.example.lan/debian-security /k.gpg"
rm -rf "$tmp"
