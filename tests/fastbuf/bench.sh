#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Measure fastbuf.rs against rtrb, ringbuf and crossbeam's ArrayQueue on this
# machine and print the result as Markdown (see bench/src/main.rs for what is
# measured and how).
#
#   tests/fastbuf/bench.sh                 everything (about 30 s)
#   tests/fastbuf/bench.sh single rtrb     only some modes and queues
#
# Built in release mode with LTO (the workspace's release profile), for the
# default target CPU: nothing is pinned and no CPU-specific code is generated.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simrupt/cargo-target}

(cd "$here" && cargo build --quiet --release --locked -p fastbuf-bench) >&2

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU}; $(uname -sr)."
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(rustc --version)."
echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Capacity 4096, u8 items, one producer and one consumer thread, 7 runs of about 0.3 s each."
echo
"$CARGO_TARGET_DIR/release/fastbuf-bench" "$@"
