// SPDX-License-Identifier: GPL-2.0

//! A mutex whose lock operation a signal can interrupt.
//!
//! C: `linux/mutex.h`. 6.12's `kernel::sync::Mutex` only has an uninterruptible
//! `lock()`; a reader blocked on it could not be killed with Ctrl-C. This is C's
//! `mutex_lock_interruptible()`, which `read()` uses to serialise readers.

use crate::kapi::{helpers::simrupt_mutex_lock_interruptible, LockClassKey};
use core::ffi::CStr;
use kernel::{bindings, error::code::ERESTARTSYS, prelude::*, types::Opaque};

/// Initialises an [`InterruptibleMutex`] named `$name` with a lockdep class of
/// its own (as `kernel::new_mutex!` does for `kernel::sync::Mutex`).
macro_rules! new_interruptible_mutex {
    ($name:literal) => {
        $crate::kapi::mutex::InterruptibleMutex::new($name, $crate::kapi::static_lock_class!())
    };
}
pub(crate) use new_interruptible_mutex;

/// A `struct mutex` guarding no data, locked with [`InterruptibleMutex::lock_interruptible`].
///
/// # Invariants
///
/// `mutex` was initialised by `__mutex_init()`.
#[pin_data]
pub(crate) struct InterruptibleMutex {
    #[pin]
    mutex: Opaque<bindings::mutex>,
}

// SAFETY: A kernel mutex may be locked and unlocked from any task.
unsafe impl Send for InterruptibleMutex {}
// SAFETY: All mutex operations are thread-safe.
unsafe impl Sync for InterruptibleMutex {}

impl InterruptibleMutex {
    /// Initialises the mutex in place; `name` and `key` label it for lockdep.
    ///
    /// Use [`new_interruptible_mutex!`], which gives each call site its own key.
    pub(crate) fn new(name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: `__mutex_init()` initialises the mutex.
            // SAFETY: `slot` is valid for writes and pinned; `name` and `key` are `'static`.
            mutex <- Opaque::ffi_init(|slot| unsafe {
                bindings::__mutex_init(slot, crate::kapi::c_chars(name), key.as_ptr())
            }),
        })
    }

    /// Locks the mutex, sleeping if needed; a signal aborts with `ERESTARTSYS`.
    ///
    /// Process context only.
    pub(crate) fn lock_interruptible(&self) -> Result<InterruptibleGuard<'_>> {
        // SAFETY: The mutex is initialised (type invariant).
        if unsafe { simrupt_mutex_lock_interruptible(self.mutex.get()) } != 0 {
            return Err(ERESTARTSYS);
        }
        // The guard stays on this task (`!Send`), which now holds the mutex.
        Ok(InterruptibleGuard {
            lock: self,
            _not_send: core::marker::PhantomData,
        })
    }
}

/// Proof that the current task holds an [`InterruptibleMutex`]; unlocks on drop.
///
/// `!Send`: a kernel mutex must be unlocked by the task that locked it
/// (`mutex_unlock()` on another task corrupts its owner tracking, and lockdep
/// reports it), so the guard cannot move to another thread.
pub(crate) struct InterruptibleGuard<'a> {
    lock: &'a InterruptibleMutex,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl Drop for InterruptibleGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: The guard exists only while the task that locked the mutex
        // holds it, and runs only on that task (`!Send`).
        unsafe { bindings::mutex_unlock(self.lock.mutex.get()) };
    }
}
