// SPDX-License-Identifier: GPL-2.0

//! The module's own workqueue, and the system BH workqueue.
//!
//! C: `linux/workqueue.h`. 6.12's `kernel::workqueue` wraps work items and the
//! system queues, but not `alloc_workqueue()`/`destroy_workqueue()`, the BH
//! queue (Linux 6.9+), or `flush_work()`; this module adds those.

use core::ffi::CStr;
use core::ops::Deref;
use core::ptr::NonNull;
use kernel::{bindings, error::code::ENOMEM, prelude::*, workqueue::Queue, workqueue::Work};

/// A workqueue allocated by this module; destroyed (after draining) on drop.
///
/// # Invariants
///
/// `ptr` came from a successful `alloc_workqueue()` and is destroyed only in `Drop`.
pub(crate) struct OwnedQueue {
    ptr: NonNull<bindings::workqueue_struct>,
}

// SAFETY: Workqueues may be used and destroyed from any thread.
unsafe impl Send for OwnedQueue {}
// SAFETY: All workqueue operations are thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates an unbound workqueue named `name` (C's `alloc_workqueue("%s", WQ_UNBOUND, 0, name)`).
    ///
    /// Unbound: its workers are not tied to the CPU that queued the work, so the
    /// trace shows the work running on any CPU. May sleep.
    pub(crate) fn new_unbound(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a valid string, and `'static` as the queue keeps it.
        let ptr =
            unsafe { super::helpers::simrupt_alloc_workqueue_unbound(crate::kapi::c_chars(name)) };
        // INVARIANT: `ptr` is a freshly allocated workqueue.
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or(ENOMEM)
    }
}

impl Deref for OwnedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: `ptr` is a live workqueue for as long as `self` lives.
        unsafe { Queue::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: `ptr` is live (type invariant) and destroyed only here;
        // `destroy_workqueue()` drains pending work first.
        unsafe { bindings::destroy_workqueue(self.ptr.as_ptr()) };
    }
}

/// The system BH workqueue (`system_bh_wq`, Linux 6.9+): work items on it run in softirq context.
///
/// BH workqueues are the modern replacement for tasklets.
pub(crate) fn system_bh() -> &'static Queue {
    // SAFETY: `system_bh_wq` is set up at boot and never destroyed.
    unsafe { Queue::from_raw(bindings::system_bh_wq) }
}

/// Waits for the last queued run of `work` to finish (C's `flush_work()`). May sleep.
///
/// Returns `true` if it had to wait, `false` if the work was already idle.
/// A run that queues the work again is not waited for: loop until `false`.
pub(crate) fn flush_work<T: ?Sized, const ID: u64>(work: &Work<T, ID>) -> bool {
    // SAFETY: `work` is an initialised, pinned `Work`, so `raw_get` gives its
    // `work_struct`, which lives for the duration of the call.
    unsafe { bindings::flush_work(Work::raw_get(work)) }
}
