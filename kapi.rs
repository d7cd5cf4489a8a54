// SPDX-License-Identifier: GPL-2.0

//! Thin safe wrappers around the C kernel APIs that Linux 6.12's `kernel` crate does not wrap.
//!
//! Each submodule wraps one C facility, owns the C object it wraps, and undoes
//! its setup in `Drop`. Nearly all `unsafe` of the module lives here and in
//! `fastbuf.rs`, each with a `// SAFETY:` proof; `simrupt.rs`, the pipeline
//! itself, is written against these wrappers, with four documented
//! exceptions: building `fast_buf` in place, taking its producer and consumer
//! sides (the single-producer/single-consumer contract), and `ArcBorrow`.
//!
//! | module        | C API                                              | header                     |
//! |---------------|----------------------------------------------------|----------------------------|
//! | [`context`]   | `smp_processor_id()`, `in_hardirq()`, ...          | `linux/preempt.h`          |
//! | [`hrtimer`]   | `hrtimer_init()`, `hrtimer_start()`, ...           | `linux/hrtimer.h`          |
//! | [`timer_list`]| `timer_setup()`, `mod_timer()`, ...                | `linux/timer.h`            |
//! | [`tasklet`]   | `tasklet_setup()`, `tasklet_schedule()`, ...       | `linux/interrupt.h`        |
//! | [`wq`]        | `alloc_workqueue()`, `system_bh_wq`, `flush_work()`| `linux/workqueue.h`        |
//! | [`kfifo`]     | `kfifo_alloc()`, `kfifo_in()`, `kfifo_to_user()`   | `linux/kfifo.h`            |
//! | [`mutex`]     | `mutex_lock_interruptible()`                       | `linux/mutex.h`            |
//! | [`waitqueue`] | `wait_event_interruptible()`, `wake_up_interruptible()`, `poll_wait()` | `linux/wait.h` |
//! | [`chrdev`]    | `register_chrdev()`, `class_create()`, `device_create()` | `linux/fs.h`, `linux/device.h` |
//! | [`param`]     | `module_param_cb()`                                | `linux/moduleparam.h`      |
//! | [`debugfs`]   | `debugfs_create_file()`, `single_open()`           | `linux/debugfs.h`, `linux/seq_file.h` |

pub(crate) mod chrdev;
pub(crate) mod context;
pub(crate) mod debugfs;
pub(crate) mod hrtimer;
pub(crate) mod kfifo;
pub(crate) mod mutex;
pub(crate) mod param;
pub(crate) mod tasklet;
pub(crate) mod timer_list;
pub(crate) mod waitqueue;
pub(crate) mod wq;

/// A type that embeds a C object of type `F` in one of its fields.
///
/// C callbacks (timers, tasklets) hand back a pointer to the embedded C object;
/// this trait turns it back into a pointer to the containing Rust object, as
/// C's `container_of()` does. Implement it with [`impl_embeds!`].
///
/// # Safety
///
/// `container_of` must return a pointer to the `Self` that contains the field
/// `field` points to.
pub(crate) unsafe trait Embeds<F> {
    /// Returns the object that contains `field`.
    ///
    /// # Safety
    ///
    /// `field` must point to the `F` field of a live `Self`.
    unsafe fn container_of(field: *const F) -> *const Self;
}

/// Implements [`Embeds`] for a field of a struct.
macro_rules! impl_embeds {
    ($owner:ty { $field:ident: $fty:ty }) => {
        // SAFETY: `container_of!` computes the address of the `$owner` that
        // holds `$field`, which is what `Embeds` requires.
        unsafe impl $crate::kapi::Embeds<$fty> for $owner {
            unsafe fn container_of(field: *const $fty) -> *const Self {
                // SAFETY: The caller guarantees `field` points into a live `$owner`.
                unsafe { kernel::container_of!(field, $owner, $field) }
            }
        }
    };
}
pub(crate) use impl_embeds;

/// A lockdep class key for a lock or wait queue this module initialises through C.
///
/// 6.12's `kernel::sync::LockClassKey` does not expose its C pointer outside
/// the `kernel` crate, so the C-level wrappers here use this one. Create it
/// with [`static_lock_class!`]: lockdep requires keys in static memory.
#[repr(transparent)]
pub(crate) struct LockClassKey(kernel::types::Opaque<kernel::bindings::lock_class_key>);

// SAFETY: Lockdep only uses the key's address, and updates it under its own lock.
unsafe impl Sync for LockClassKey {}

impl LockClassKey {
    /// A key for a `static`; lockdep initialises it on first use.
    pub(crate) const fn new() -> Self {
        Self(kernel::types::Opaque::uninit())
    }

    /// The C pointer.
    pub(crate) fn as_ptr(&self) -> *mut kernel::bindings::lock_class_key {
        self.0.get()
    }
}

/// A new, unique `&'static LockClassKey`, one per call site (as C's static keys in `mutex_init()`).
macro_rules! static_lock_class {
    () => {{
        static CLASS: $crate::kapi::LockClassKey = $crate::kapi::LockClassKey::new();
        &CLASS
    }};
}
pub(crate) use static_lock_class;
