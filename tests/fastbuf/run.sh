#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host checks for fastbuf.rs, the kernel module's lock-free ring.
#
#   tests/fastbuf/run.sh
#
# Prints one line per suite on stdout, `ok NAME`, `FAIL NAME: REASON` or
# `SKIP NAME: REASON`, then a closing `fastbuf: N passed, N failed, N skipped`.
# Exits 0 iff no suite failed. Each suite's full output goes to a log file
# (named on stderr). Fetches crates from crates.io (`--locked`) and does
# nothing twice: cargo's target directory and Miri's sysroot are cached
# outside the clone.
#
# Toolchains (scripts/toolchain.sh): every suite but Miri and ThreadSanitizer
# runs with Debian's toolchain in /usr/bin (rustc-web, cargo-web, rustfmt-web,
# rust-web-clippy, installed by scripts/deps.sh), the same rustc the kernel is
# built with; they must pass on any machine. Miri and ThreadSanitizer need a
# nightly compiler, which Debian does not ship: they use rustup's `nightly`
# where rustup is installed (adding the components they need), and are
# reported `SKIP`, with the command that enables them, where it is not.
#
# Suites:
#   fastbuf-fmt       rustfmt --check on fastbuf.rs and this crate
#   fastbuf-clippy    clippy with the kernel's lint set, warnings denied, on the
#                     test crate and on fastbuf.rs as the module build sees it
#   fastbuf-nostd     fastbuf.rs as a no_std module, built by the kernel's rustc
#                     with the kernel's lint flags; a non-power-of-two N must
#                     not compile
#   fastbuf-unit      unit tests
#   fastbuf-proptest  random operation sequences against a VecDeque model
#   fastbuf-stress    two threads, 10 million values through a 64-slot ring
#   fastbuf-miri      (nightly) unit + stress tests under Miri (data races,
#                     UB, weak memory); the stress tests use 2,000 values there
#   fastbuf-tsan      (nightly) stress tests under ThreadSanitizer
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/toolchain.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/cargo-target}
logs=$CARGO_TARGET_DIR/fastbuf-logs
mkdir -p "$logs"

passed=0 failed=0 skipped=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
note() { echo "[fastbuf] $*" >&2; }

# Runs "$@" with its output in the suite's log; prints the suite's verdict.
# On failure the reason is the first line that looks like an error.
suite() {
	local name=$1 log=$logs/$1.log
	shift
	note "$name: log in $log"
	local rc=0
	(cd "$here" && "$@") >"$log" 2>&1 || rc=$?
	if ((rc == 0)); then
		ok "$name"
	else
		local why
		why=$(grep -m1 -E "^error|panicked|FAILED|ThreadSanitizer|Undefined Behavior|^Diff in" "$log" |
			cut -c1-160)
		fail "$name" "${why:-exit status $rc, see $log}"
		tail -n 30 "$log" | sed 's/^/  | /' >&2
	fi
}

# --- toolchains ------------------------------------------------------------------

# with_debian CMD...: run CMD with Debian's toolchain (scripts/toolchain.sh).
with_debian() {
	debian_rust_env
	"$@"
}
debian_missing=$(debian_rust_missing | tr '\n' ' ')
debian_why="Debian's toolchain is incomplete, missing: ${debian_missing}(run scripts/deps.sh)"

# with_nightly CMD...: run CMD with rustup's nightly toolchain.
with_nightly() {
	export RUSTUP_TOOLCHAIN=nightly PATH="$(dirname "$rustup"):$PATH"
	unset RUSTC RUSTDOC RUSTFMT CARGO CLIPPY_DRIVER RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER
	"$@"
}

# nightly_components COMPONENT...: adds them to rustup's nightly if missing;
# returns 1, with the reason (and the command that fixes it) in $why, if
# rustup or its nightly toolchain is absent, or a component cannot be added.
why=
rustup=$(find_rustup || true)
nightly_components() {
	local c
	if [ -z "$rustup" ]; then
		why="needs a nightly Rust, and rustup is not installed (enable with: $NIGHTLY_ENABLE_HINT)"
		return 1
	fi
	if ! "$rustup" run nightly rustc --version >/dev/null 2>&1; then
		why="rustup's nightly toolchain is not installed (enable with: $rustup toolchain install nightly --profile minimal -c miri,rust-src)"
		return 1
	fi
	for c in "$@"; do
		if ! "$rustup" +nightly component list --installed 2>/dev/null | grep -q "^$c"; then
			note "installing rustup component $c for nightly"
			if ! "$rustup" +nightly component add "$c" >>"$logs/rustup.log" 2>&1; then
				why="cannot install rustup component $c for nightly, see $logs/rustup.log (enable with: $rustup +nightly component add $c)"
				return 1
			fi
		fi
	done
}

# stable_suite NAME CMD...: a suite that must run and pass with Debian's toolchain.
stable_suite() {
	local name=$1
	shift
	if [ -n "$debian_missing" ]; then
		fail "$name" "$debian_why"
	else
		suite "$name" with_debian "$@"
	fi
}

# --- style and lints ---------------------------------------------------------

fmt_check() {
	echo "rustfmt: $(rustfmt --version)"
	rustfmt --edition 2021 --check ../../fastbuf.rs nostd/*.rs && cargo fmt --all --check
}
# The clippy flags of Linux 6.12's rust_common_flags.
kernel_clippy=(-Wclippy::all -Aclippy::collapsible_if -Aclippy::collapsible_match
	-Wclippy::ignored_unit_patterns -Wclippy::mut_mut -Wclippy::needless_bitwise_bool
	-Aclippy::needless_lifetimes -Wclippy::no_mangle_with_rust_abi
	-Wclippy::undocumented_unsafe_blocks -Aclippy::uninlined_format_args
	-Wclippy::unnecessary_safety_comment -Wclippy::unnecessary_safety_doc
	-Aclippy::unwrap_or_default)
clippy_check() {
	local out
	echo "clippy: $(cargo clippy --version)"
	cargo clippy --locked --workspace --all-targets -- -D warnings || return 1
	# Also as the module build sees it: no_std, `--cfg MODULE`.
	out=$(mktemp -d)
	trap 'rm -rf "$out"; trap - RETURN' RETURN
	clippy-driver --edition=2021 --crate-type=lib --emit=metadata --out-dir "$out" \
		--cfg MODULE -Dwarnings -Dunsafe_op_in_unsafe_fn -Wmissing_docs \
		-Wrust_2018_idioms -Wunreachable_pub "${kernel_clippy[@]}" nostd/module_use.rs
}
stable_suite fastbuf-fmt fmt_check
stable_suite fastbuf-clippy clippy_check

# --- fastbuf.rs as the kernel compiles it ------------------------------------

# The flags of Linux 6.12's rust_common_flags that apply to a plain rustc,
# with warnings denied.
nostd_check() {
	local out flags=(--edition=2021 --crate-type=lib --emit=obj -O
		-Dunsafe_op_in_unsafe_fn -Dnon_ascii_idents -Dmissing_docs
		-Drust_2018_idioms -Dunreachable_pub -Dwarnings)
	out=$(mktemp -d)
	trap 'rm -rf "$out"; trap - RETURN' RETURN
	echo "rustc: $(rustc --version)"
	rustc "${flags[@]}" --out-dir "$out" --cfg MODULE nostd/module_use.rs || return 1
	rustc "${flags[@]}" --out-dir "$out" nostd/full_api.rs || return 1
	if rustc "${flags[@]}" --out-dir "$out" --cfg bad_n nostd/full_api.rs 2>"$out/bad_n.txt"; then
		echo "error: FastBuf<u8, 3> compiled, but N = 3 must be rejected"
		return 1
	fi
	grep -q "N must be a power of two" "$out/bad_n.txt" || {
		cat "$out/bad_n.txt"
		echo "error: N = 3 was rejected, but not by FastBuf's check"
		return 1
	}
	echo "N = 3 rejected at compile time, as it must be"
}
stable_suite fastbuf-nostd nostd_check

# --- tests on the host ---------------------------------------------------------

host_tests() {
	echo "rustc: $(rustc --version)"
	cargo test --locked --lib -- "$1" --test-threads="${2:-2}" --nocapture
}
stable_suite fastbuf-unit host_tests unit::
stable_suite fastbuf-proptest host_tests prop::
# One test at a time: each runs two busy threads.
stable_suite fastbuf-stress host_tests stress:: 1

# --- Miri -----------------------------------------------------------------------

miri_tests() {
	# Miri ignores optimisation anyway; asking for none keeps it quiet.
	export CARGO_PROFILE_TEST_OPT_LEVEL=0
	# A Miri test "binary" records the directory it was built in and runs
	# there: a target directory shared by clones at other paths would send
	# it to a directory that may be gone. One per clone.
	export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/miri-$(printf %s "$here" | sha256sum | cut -c1-12)"
	echo "rustc: $(rustc --version)"
	cargo miri setup &&
		cargo miri test --locked --lib -- unit:: stress:: --nocapture
}
if nightly_components miri rust-src; then
	suite fastbuf-miri with_nightly miri_tests
else
	skip fastbuf-miri "$why"
fi

# --- ThreadSanitizer ---------------------------------------------------------------

host=$( (/usr/bin/rustc -vV || rustc -vV) 2>/dev/null | sed -n 's/^host: //p')
tsan_tests() {
	echo "rustc: $(rustc --version)"
	RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		cargo test --locked -Zbuild-std --target "$host" --lib \
		-- stress:: --test-threads=1 --nocapture
}
case $host in
x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu)
	if nightly_components rust-src; then
		suite fastbuf-tsan with_nightly tsan_tests
	else
		skip fastbuf-tsan "$why"
	fi
	;;
*) skip fastbuf-tsan "ThreadSanitizer is not supported on $host" ;;
esac

echo "fastbuf: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
