#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The host tests of `make check`: everything that needs no kernel and no VM.
#
#   tests/host.sh [LOGDIR]
#
#  - rustfmt: the module's Rust files are formatted as rustfmt wants;
#  - chapter-*: the chapter's quotes are from its committed captures (tests/chapter/check.sh);
#  - scanner-*: the log scanner's self-test (tests/scan-log-selftest.sh);
#  - deps-plan-*: scripts/deps.sh's install planner on recorded apt output
#    (tests/deps/plan-selftest.sh);
#  - histogram-unit: histogram.rs, the module's own file, tested on the host;
#  - fastbuf-*: fast_buf's suites (tests/fastbuf/run.sh);
#  - histogram-miri: histogram.rs's concurrency tests under Miri (nightly).
#
# Prints "ok NAME", "FAIL NAME: why" or "SKIP NAME: why" per check, exits 0
# iff nothing failed; logs go to LOGDIR (default: a new directory in /tmp).
# Needs only Debian's toolchain (scripts/toolchain.sh; scripts/deps.sh
# installs it): on a machine without rustup, only the three nightly-only
# suites, fastbuf-miri, fastbuf-tsan and histogram-miri, are skipped.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. scripts/toolchain.sh
logs=${1:-$(mktemp -d /tmp/simrupt-host.XXXXXX)}
mkdir -p "$logs"
failed=0
fail() { echo "FAIL $1: $2"; failed=1; }

missing=$(debian_rust_missing | tr '\n' ' ')
if [ -n "$missing" ]; then
  fail debian-toolchain "missing Debian packages: ${missing}(run scripts/deps.sh)"
fi

# rustfmt follows `mod` declarations, so simrupt.rs covers the module's files.
if /usr/bin/rustfmt --check --edition 2021 simrupt.rs tests/broken/simrupt_broken.rs tests/broken/simrupt_uaf.rs \
     tests/histogram/lib.rs > "$logs/rustfmt.log" 2>&1; then
  echo "ok rustfmt"
else
  fail rustfmt "run '/usr/bin/rustfmt --edition 2021 simrupt.rs' (see $logs/rustfmt.log)"
fi

tests/scan-log-selftest.sh || failed=1
tests/chapter/check.sh > "$logs/chapter.log" || failed=1; grep -v '^# ' "$logs/chapter.log"
tests/deps/plan-selftest.sh | tee "$logs/deps-plan.log"
! grep -q '^FAIL ' "$logs/deps-plan.log" || failed=1

# histogram.rs, the module's own file, compiled and tested on the host.
if (cd tests/histogram && debian_rust_env &&
      CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/cargo-target} \
      cargo test --locked) > "$logs/histogram.log" 2>&1; then
  echo "ok histogram-unit ($(grep -o '[0-9]* passed' "$logs/histogram.log" | head -n 1))"
else
  fail histogram-unit "see $logs/histogram.log"; tail -n 20 "$logs/histogram.log" >&2
fi

# Its notes and failing logs' tails go to the log; the verdicts come through.
tests/fastbuf/run.sh 2>&1 | tee "$logs/fastbuf.log" | grep --line-buffered -E '^(ok|FAIL|SKIP) '
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1

# histogram.rs's record/reset/render stress test and the repair of any raw
# state, under Miri (data races, UB, weak memory): nightly only, so rustup's,
# where it is installed (fast_buf's suite above has added the components).
if rustup=$(find_rustup) && "$rustup" run nightly cargo miri --version > /dev/null 2>&1; then
  # One Miri target directory per clone: a Miri test records (and runs in)
  # the directory it was built in.
  if (cd tests/histogram &&
        CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/cargo-target}/miri-$(printf %s "$here" | sha256sum | cut -c1-12) \
        CARGO_PROFILE_TEST_OPT_LEVEL=0 "$rustup" run nightly cargo miri test --locked --lib -- \
        stress_record_reset_render from_raw) > "$logs/histogram-miri.log" 2>&1; then
    echo "ok histogram-miri"
  else
    fail histogram-miri "see $logs/histogram-miri.log"; tail -n 20 "$logs/histogram-miri.log" >&2
  fi
else
  echo "SKIP histogram-miri: needs a nightly Rust with Miri (enable with: $NIGHTLY_ENABLE_HINT)"
fi

exit "$failed"
