// SPDX-License-Identifier: GPL-2.0

//! Host tests for the kernel module's `fastbuf.rs`, compiled from the very same file.
//!
//! The kernel module includes `fastbuf.rs` with `mod fastbuf;`; this crate does
//! the same through `#[path]`, so what is tested here is byte for byte what
//! runs in the kernel. The crate has no content outside `cargo test`.
//!
//! - `unit`: empty, full, wrap-around, clear, `len`, push-on-full, `N = 2`.
//! - `prop`: random push/pop/clear sequences against a `VecDeque` model.
//! - `stress`: two threads move millions of values through a small ring.
//!
//! `run.sh` also runs `unit` and `stress` under Miri and `stress` under
//! ThreadSanitizer.

#![cfg(test)]

#[path = "../../fastbuf.rs"]
mod fastbuf;

mod prop;
mod stress;
mod unit;
