#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The chapter runs as written: its quoted outputs are lines of the committed
# captures, and its quoted compiler errors point at the code they name in
# the current simrupt.rs or lessons.rs (tests/chapter/quotes.py says how). Host only, fast.
# Prints "ok chapter-quotes", "ok chapter-quotes-sourced", "ok chapter-rustc-lines"
# or "FAIL ...: why".
exec python3 "$(dirname "$0")/quotes.py" check
