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
pub(crate) fn debugfs_borrowed_data(dir: &mut crate::kapi::debugfs::Dir, s: &crate::Simrupt) {
    dir.file::<crate::Simrupt, 0>(c"x", 0o444, s);
}

#[cfg(kapi_compile_fail = "kfifo-token-forged")]
// E0451: the right to write a kfifo is made only by `Kfifo::alloc`, one per
// fifo; code outside `kapi/kfifo.rs` cannot forge a second writer.
pub(crate) fn kfifo_token_forged() -> crate::kapi::kfifo::KfifoIn<u8> {
    crate::kapi::kfifo::KfifoIn {
        fifo: 1,
        _elements: core::marker::PhantomData,
    }
}

#[cfg(kapi_compile_fail = "kfifo-variance")]
// E0597: a kfifo is invariant in its element type. Were it covariant, a fifo
// of `&'static u32` could be used as a fifo of shorter-lived references, take
// a reference to a local, and hand it out as `'static` after the local died.
pub(crate) fn kfifo_variance(
    fifo: &crate::kapi::kfifo::Kfifo<&'static u32>,
    writer: crate::kapi::kfifo::KfifoIn<&'static u32>,
) {
    let local = 7u32;
    let mut writer: crate::kapi::kfifo::KfifoIn<&u32> = writer;
    let fifo: &crate::kapi::kfifo::Kfifo<&u32> = fifo;
    fifo.put(&mut writer, &local);
}

#[cfg(kapi_compile_fail = "printk-format-mismatch")]
// E0080: a C printk format is checked against its arguments while compiling;
// `%llu` reads an unsigned long long, so passing a `u32` for it is refused
// (in C, `__printf()` makes this a warning; here it cannot build).
pub(crate) fn printk_format_mismatch(cpu: u32) {
    crate::kapi::printk::printk_info!("[CPU#%llu]\n", cpu => u32);
}

#[cfg(kapi_compile_fail = "printk-arg-safe-impl")]
// E0200: which conversion a type takes is what the format check trusts, so a
// new `printk` argument type takes an `unsafe impl`; a safe one, such as
// this `%s` for an integer (vsprintf would dereference it), is refused.
impl crate::kapi::printk::Arg for i64 {
    const CONVERSION: &'static [u8] = b"%s";
}

#[cfg(kapi_compile_fail = "poll-local-queue")]
// E0597: `poll` may only register on a wait queue that lives as long as the
// device (which each open file keeps alive until its last close): one that
// `poll` allocates and frees would leave epoll waiting on freed memory.
mod poll_local_queue {
    use crate::kapi::chrdev::{CharDevice, DeviceSlot, File, PollTable, UserBuf};
    use crate::kapi::waitqueue::new_waitqueue;
    use kernel::{prelude::*, sync::ArcBorrow};

    struct Dev;
    static SLOT: DeviceSlot<Dev> = DeviceSlot::new();

    impl CharDevice for Dev {
        fn slot() -> &'static DeviceSlot<Self> {
            &SLOT
        }
        fn open(_this: ArcBorrow<'_, Self>, _file: &File) -> Result {
            Ok(())
        }
        fn release(&self, _file: &File) {}
        fn read(&self, _file: &File, _buf: UserBuf, _len: usize) -> Result<usize> {
            Ok(0)
        }
        fn poll<'a>(&'a self, _file: &File, table: &PollTable<'a>) -> u32 {
            let Ok(queue) = KBox::pin_init(new_waitqueue!(c"local"), GFP_KERNEL) else {
                return 0;
            };
            table.register(&queue);
            0
        }
    }
}

#[cfg(kapi_compile_fail = "mutex-guard-sent")]
// E0277: a kernel mutex must be unlocked by the task that locked it, so its
// guard cannot move to another thread (it is `!Send`).
pub(crate) fn mutex_guard_sent(m: &crate::kapi::mutex::InterruptibleMutex) {
    fn needs_send<T: Send>(_value: T) {}
    if let Ok(guard) = m.lock_interruptible() {
        needs_send(guard);
    }
}

#[cfg(kapi_compile_fail = "fast-buf-consumer-forged")]
// E0423: the right to take from `fast_buf` exists once, in `consumer_lock`;
// the pipeline cannot make a second consumer outside its constructor.
pub(crate) fn fast_buf_consumer_forged() -> crate::FastBufConsumer {
    crate::FastBufConsumer(())
}
