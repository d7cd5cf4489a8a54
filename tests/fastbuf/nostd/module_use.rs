// SPDX-License-Identifier: GPL-2.0

//! Uses `fastbuf.rs` exactly as the simrupt module does, built like a kernel crate.
//!
//! `run.sh` compiles this with the kernel's rustc, `#![no_std]`, `--cfg MODULE`
//! and the kernel's lint flags as errors: any warning the module build would
//! see in `fastbuf.rs` (dead code, a missing `SAFETY` proof, `std` use) fails.

#![no_std]

#[path = "../../../fastbuf.rs"]
mod fastbuf;

use core::mem::MaybeUninit;
use fastbuf::FastBuf;

/// Builds a ring in place, then pushes, pops, clears and inspects it.
#[inline(never)]
pub fn exercise(byte: u8) -> usize {
    let mut memory = MaybeUninit::<FastBuf<u8, 4096>>::uninit();
    // SAFETY: `memory` is a live, aligned local that nothing else uses.
    unsafe { FastBuf::init_in_place(memory.as_mut_ptr()) };
    // SAFETY: `init_in_place` has initialised it.
    let ring = unsafe { memory.assume_init_ref() };
    // SAFETY: This function is the only producer of this fresh ring.
    let pushed = unsafe { ring.producer() }.push(byte).is_ok();
    // SAFETY: This function is the only consumer of this fresh ring.
    let mut consumer = unsafe { ring.consumer() };
    let popped = consumer.pop().is_some();
    let cleared = consumer.clear();
    usize::from(pushed) + usize::from(popped) + cleared + ring.len() + ring.capacity()
        - usize::from(ring.is_empty())
}
