// SPDX-License-Identifier: GPL-2.0

//! A deliberately broken module that proves the test suite's log scanner works.
//!
//! Its `init` does two things a module must never do, so that a test can check
//! the kernel reports both and `tests/scan-log.sh` catches the reports:
//!
//! 1. It leaks a `KBox` (kmemleak: "unreferenced object").
//! 2. It sleeps while holding a spinlock ("BUG: sleeping function called from
//!    invalid context", from `CONFIG_DEBUG_ATOMIC_SLEEP`).
//!
//! Never load this outside the test VM.

use kernel::{bindings, new_spinlock, prelude::*};

// The module's own compatibility layer, for `module!`'s author key.
#[path = "../../kapi/compat.rs"]
#[allow(dead_code, unused_imports)]
mod compat;

compat::module_with_author! {
    type: Broken,
    name: "simrupt_broken",
    author: "simrupt developers",
    description: "Deliberately broken: leaks memory and sleeps in atomic context (scanner self-test)",
    license: "GPL",
}

struct Broken;

impl kernel::Module for Broken {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // 1. The leak: the box is forgotten, its memory never freed.
        let leaked = KBox::new([0x5au8; 256], GFP_KERNEL)?;
        core::mem::forget(leaked);

        // 2. The sleep in atomic context.
        let lock = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        // SAFETY: `msleep` is always safe to call in the memory-safety sense;
        // calling it under a spinlock is the (deliberate) bug.
        unsafe { bindings::msleep(1) };
        drop(guard);

        pr_info!("loaded: leaked 256 bytes and slept under a spinlock, on purpose\n");
        Ok(Broken)
    }
}
