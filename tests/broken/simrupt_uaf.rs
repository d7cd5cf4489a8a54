// SPDX-License-Identifier: GPL-2.0

//! A deliberately broken module that proves KASAN sees into Rust code, and
//! that the test suite's log scanner fails a boot when KASAN reports.
//!
//! Its `init` makes the two mistakes a Rust rewrite exists to prevent, each
//! behind an `unsafe` block whose comment admits it, and each a *read*, so
//! the kernel's memory is not damaged:
//!
//! 1. It reads a `KBox` after freeing it (KASAN: "slab-use-after-free").
//! 2. It reads one byte past the end of a 60-byte allocation (KASAN:
//!    "slab-out-of-bounds"; kmalloc's 64-byte object hides this from
//!    everything but KASAN, which knows the size that was asked for).
//!
//! The KASAN test kernel compiles Rust with `-Zsanitizer=kernel-address`, so
//! these loads, in this Rust crate, are the ones checked. Without KASAN both
//! reads return stale bytes and nothing is reported: only load it in the
//! KASAN test kernel (tests/guest/scanner-kasan.sh).

use kernel::prelude::*;

// The module's own compatibility layer, for `module!`'s author key.
#[path = "../../kapi/compat.rs"]
#[allow(dead_code, unused_imports)]
mod compat;

compat::module_with_author! {
    type: Uaf,
    name: "simrupt_uaf",
    author: "simrupt developers",
    description: "Deliberately broken: reads freed and out-of-bounds memory (KASAN scanner self-test)",
    license: "GPL",
}

struct Uaf;

impl kernel::Module for Uaf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // 1. Use after free: keep the pointer, free the box, read through it.
        let freed = KBox::into_raw(KBox::new([0x5au8; 64], GFP_KERNEL)?);
        // SAFETY: `freed` came from `KBox::into_raw` just above and is not used
        // through any other path; this gives the memory back.
        drop(unsafe { KBox::from_raw(freed) });
        // SAFETY: none: `freed` was freed on the line above. This is the
        // (deliberate) bug, and the read KASAN reports.
        let after_free = unsafe { core::ptr::read_volatile(freed.cast::<u8>()) };

        // 2. Out of bounds: one byte past the end of a 60-byte allocation.
        let small = KBox::new([0x5au8; 60], GFP_KERNEL)?;
        let end = small.as_ptr().wrapping_add(small.len());
        // SAFETY: none: `end` is one past the last byte of `small`. This is
        // the (deliberate) bug, and the second read KASAN reports.
        let past_end = unsafe { core::ptr::read_volatile(end) };
        drop(small);

        pr_info!(
            "loaded: read {after_free:#x} after free and {past_end:#x} out of bounds, on purpose\n"
        );
        Ok(Uaf)
    }
}
