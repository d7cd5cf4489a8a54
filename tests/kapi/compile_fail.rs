// SPDX-License-Identifier: GPL-2.0

//! Misuses of `kapi/` that must not compile: each is a hole the wrappers close
//! by their types. `tests/kapi/run.sh` builds the module once per item, with
//! `--cfg kapi_compile_fail="NAME"`, and expects the build to fail with the
//! error code named in the item's comment. The normal build compiles none of it.

#[cfg(kapi_compile_fail = "embeds-wrong-field")]
// E0308: `impl_embeds!` checks the field's type; `timer` is a `TimerList`, so
// claiming it is an `HrTimer` (whose callback would then `container_of` the
// wrong field) does not compile.
crate::kapi::impl_embeds!(crate::Simrupt {
    timer: crate::kapi::hrtimer::HrTimer<crate::Simrupt, 7>
});

#[cfg(kapi_compile_fail = "timer-without-arc")]
// E0308: a timer is armed only through an `Arc` of its owner, which the
// returned handle keeps until the timer is cancelled; a plain borrow cannot
// keep the owner alive, so it is refused.
pub(crate) fn timer_without_arc(s: &crate::Simrupt) {
    let _handle = crate::kapi::hrtimer::HrTimer::<crate::Simrupt>::start(s, 1_000_000);
}

#[cfg(kapi_compile_fail = "debugfs-borrowed-data")]
// E0308: a debugfs file may be read at any time until it is removed, so it
// must own a reference to its data; a borrow is refused.
pub(crate) fn debugfs_borrowed_data(
    dir: &mut crate::kapi::debugfs::Dir,
    s: &crate::Simrupt,
    module: &'static kernel::ThisModule,
) {
    dir.file::<crate::Simrupt, 0>(c"x", 0o444, s, module);
}

#[cfg(kapi_compile_fail = "kfifo-token-forged")]
// E0451: the right to write a kfifo is made only by `Kfifo::alloc`, one per
// fifo; code outside `kapi/kfifo.rs` cannot forge a second writer.
pub(crate) fn kfifo_token_forged() -> crate::kapi::kfifo::KfifoIn<u8> {
    crate::kapi::kfifo::KfifoIn {
        fifo: core::ptr::NonNull::dangling(),
        _elements: core::marker::PhantomData,
    }
}

#[cfg(kapi_compile_fail = "printk-format-mismatch")]
// E0080: a C printk format is checked against its arguments while compiling;
// `%llu` reads an unsigned long long, so passing a `u32` for it is refused
// (in C, `__printf()` makes this a warning; here it cannot build).
pub(crate) fn printk_format_mismatch(cpu: u32) {
    crate::kapi::printk::printk_info!("[CPU#%llu]\n", cpu => u32);
}
