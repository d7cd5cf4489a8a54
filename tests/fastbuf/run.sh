#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host checks for fastbuf.rs, the kernel module's lock-free ring.
#
#   tests/fastbuf/run.sh
#
# Prints one line per suite on stdout, `ok NAME`, `FAIL NAME: REASON` or
# `SKIP NAME: REASON`, then a closing `fastbuf: N passed, N failed, N skipped`.
# Exits 0 iff no suite failed. Each suite's full output goes to a log file
# (named on stderr). Installs what it needs (rustup components, crates from
# crates.io) and does nothing twice: cargo's target directory and Miri's
# sysroot are cached outside the clone.
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
#   fastbuf-miri      unit + stress tests under Miri (data races, UB, weak
#                     memory); the stress tests use 2,000 values there
#   fastbuf-tsan      stress tests under ThreadSanitizer
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/cargo-target}
logs=$CARGO_TARGET_DIR/fastbuf-logs
mkdir -p "$logs"
# The kernel's rustc (Debian's rustc-web) if installed, else the default one.
kernel_rustc=/usr/bin/rustc
[ -x "$kernel_rustc" ] || kernel_rustc=rustc

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

# --- toolchain components (each installed only if missing) -----------------

# Adds rustup components to TOOLCHAIN if they are missing; returns 1 (with the
# reason in $why) if the toolchain or a component cannot be had.
why=
ensure_components() {
	local toolchain=$1 c
	shift
	if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
		why="rustup toolchain '$toolchain' is not installed"
		return 1
	fi
	for c in "$@"; do
		if ! rustup +"$toolchain" component list --installed 2>/dev/null | grep -q "^$c"; then
			note "installing rustup component $c for $toolchain"
			if ! rustup +"$toolchain" component add "$c" >>"$logs/rustup.log" 2>&1; then
				why="cannot install rustup component $c for $toolchain (see $logs/rustup.log)"
				return 1
			fi
		fi
	done
}

stable_ok=1
ensure_components stable rustfmt clippy || { stable_ok=0; stable_why=$why; }

# --- style and lints ---------------------------------------------------------

fmt_check() {
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
	cargo clippy --locked --workspace --all-targets -- -D warnings || return 1
	# Also as the module build sees it: no_std, `--cfg MODULE`.
	out=$(mktemp -d)
	trap 'rm -rf "$out"' RETURN
	clippy-driver --edition=2021 --crate-type=lib --emit=metadata --out-dir "$out" \
		--cfg MODULE -Dwarnings -Dunsafe_op_in_unsafe_fn -Wmissing_docs \
		-Wrust_2018_idioms -Wunreachable_pub "${kernel_clippy[@]}" nostd/module_use.rs
}
if ((stable_ok)); then
	suite fastbuf-fmt fmt_check
	suite fastbuf-clippy clippy_check
else
	skip fastbuf-fmt "$stable_why"
	skip fastbuf-clippy "$stable_why"
fi

# --- fastbuf.rs as the kernel compiles it ------------------------------------

# The flags of Linux 6.12's rust_common_flags that apply to a plain rustc,
# with warnings denied.
nostd_check() {
	local out flags=(--edition=2021 --crate-type=lib --emit=obj -O
		-Dunsafe_op_in_unsafe_fn -Dnon_ascii_idents -Dmissing_docs
		-Drust_2018_idioms -Dunreachable_pub -Dwarnings)
	out=$(mktemp -d)
	trap 'rm -rf "$out"' RETURN
	echo "rustc: $("$kernel_rustc" --version)"
	"$kernel_rustc" "${flags[@]}" --out-dir "$out" --cfg MODULE nostd/module_use.rs || return 1
	"$kernel_rustc" "${flags[@]}" --out-dir "$out" nostd/full_api.rs || return 1
	if "$kernel_rustc" "${flags[@]}" --out-dir "$out" --cfg bad_n nostd/full_api.rs 2>"$out/bad_n.txt"; then
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
suite fastbuf-nostd nostd_check

# --- tests on the host ---------------------------------------------------------

host_tests() { cargo test --locked --lib -- "$1" --test-threads="${2:-2}" --nocapture; }
if ((stable_ok)); then
	suite fastbuf-unit host_tests unit::
	suite fastbuf-proptest host_tests prop::
	# One test at a time: each runs two busy threads.
	suite fastbuf-stress host_tests stress:: 1
else
	skip fastbuf-unit "$stable_why"
	skip fastbuf-proptest "$stable_why"
	skip fastbuf-stress "$stable_why"
fi

# --- Miri -----------------------------------------------------------------------

miri_tests() {
	# Miri ignores optimisation anyway; asking for none keeps it quiet.
	export CARGO_PROFILE_TEST_OPT_LEVEL=0
	cargo +nightly miri setup &&
		cargo +nightly miri test --locked --lib -- unit:: stress:: --nocapture
}
if ensure_components nightly miri rust-src; then
	suite fastbuf-miri miri_tests
else
	skip fastbuf-miri "$why"
fi

# --- ThreadSanitizer ---------------------------------------------------------------

host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
tsan_tests() {
	RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		cargo +nightly test --locked -Zbuild-std --target "$host" --lib \
		-- stress:: --test-threads=1 --nocapture
}
case $host in
x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu)
	if ensure_components nightly rust-src; then
		suite fastbuf-tsan tsan_tests
	else
		skip fastbuf-tsan "$why"
	fi
	;;
*) skip fastbuf-tsan "ThreadSanitizer is not supported on $host" ;;
esac

echo "fastbuf: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
