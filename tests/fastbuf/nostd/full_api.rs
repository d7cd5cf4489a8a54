// SPDX-License-Identifier: GPL-2.0

//! Uses all of `fastbuf.rs` in a `no_std` crate that is not a kernel module.
//!
//! With `--cfg bad_n`, `run.sh` checks that a ring whose size is not a power
//! of two is rejected at compile time.
//!
//! The functions are `#[inline(never)]` so that rustc really instantiates
//! them in this crate: with `-O`, small functions are otherwise left for the
//! crates that call them, and the compile-time check would never run.

#![no_std]

#[path = "../../../fastbuf.rs"]
mod fastbuf;

use fastbuf::FastBuf;

/// Round-trips one byte through a ring built by value and split safely.
#[inline(never)]
pub fn round_trip(byte: u8) -> Option<u8> {
    let mut ring = FastBuf::<u8, 2>::new();
    let (mut producer, mut consumer) = ring.split();
    producer.push(byte).ok()?;
    let value = consumer.pop();
    let _ = consumer.clear();
    // SAFETY: The handles from `split()` are no longer used.
    let _ = unsafe { ring.producer() }.push(byte);
    // SAFETY: As above.
    let _ = unsafe { ring.consumer() }.pop();
    let mut memory = core::mem::MaybeUninit::<FastBuf<u8, 2>>::uninit();
    // SAFETY: `memory` is a live, aligned local.
    unsafe { FastBuf::init_in_place(memory.as_mut_ptr()) };
    (ring.len() <= ring.capacity() && ring.is_empty()).then_some(value?)
}

/// Must not compile: 3 is not a power of two.
#[cfg(bad_n)]
#[inline(never)]
pub fn bad_capacity() -> usize {
    FastBuf::<u8, 3>::new().capacity()
}
