// SPDX-License-Identifier: GPL-2.0

//! A wait queue: readers sleep on it until data arrives; `poll()` registers on it too.
//!
//! C: `linux/wait.h`. 6.12's `kernel::sync::CondVar` is built on a wait queue
//! but keeps it private, so `poll()` could not use it. This wrapper exposes the
//! pieces C's `wait_event_interruptible()` is made of, written out in Rust.

use crate::kapi::{helpers, LockClassKey};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use kernel::ffi::c_int;
use kernel::{bindings, error::code::ERESTARTSYS, prelude::*, types::Opaque};

/// Initialises a [`WaitQueue`] named `$name` with a lockdep class of its own
/// (C's `init_waitqueue_head()`, which declares a static key at each call site).
macro_rules! new_waitqueue {
    ($name:literal) => {
        $crate::kapi::waitqueue::WaitQueue::new($name, $crate::kapi::static_lock_class!())
    };
}
pub(crate) use new_waitqueue;

/// A `wait_queue_head_t`.
///
/// # Invariants
///
/// `head` was initialised by `__init_waitqueue_head()`.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
}

// SAFETY: The wait queue has its own spinlock; all operations are thread-safe.
unsafe impl Send for WaitQueue {}
// SAFETY: As above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// Initialises an empty wait queue in place; `name` and `key` label its lock for lockdep.
    ///
    /// Use [`new_waitqueue!`], which gives each call site its own key.
    pub(crate) fn new(name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: `__init_waitqueue_head()` initialises the queue.
            // SAFETY: `slot` is valid for writes and pinned; `name` and `key` are `'static`.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, crate::kapi::c_chars(name), key.as_ptr())
            }),
        })
    }

    /// Wakes the tasks sleeping interruptibly on the queue (C's `wake_up_interruptible()`).
    ///
    /// Callable from any context.
    pub(crate) fn wake_up_interruptible(&self) {
        // SAFETY: The queue is initialised (type invariant).
        unsafe {
            bindings::__wake_up(
                self.head.get(),
                bindings::TASK_INTERRUPTIBLE,
                1,
                core::ptr::null_mut(),
            )
        };
    }

    /// Sleeps until `condition()` is true; a signal aborts with `ERESTARTSYS`.
    ///
    /// C's `wait_event_interruptible(wq, condition)`, spelled out. The order
    /// matters: the task marks itself sleeping and joins the queue *before*
    /// testing the condition, so a wake-up between the test and `schedule()`
    /// is not lost, it just makes `schedule()` return at once. Process context.
    pub(crate) fn wait_interruptible_until(&self, mut condition: impl FnMut() -> bool) -> Result {
        if condition() {
            return Ok(());
        }
        let mut entry = MaybeUninit::<bindings::wait_queue_entry>::uninit();
        let entry = entry.as_mut_ptr();
        // SAFETY: `entry` is valid for writes; it stays on this stack frame,
        // unmoved, until `finish_wait` below has removed it from the queue.
        unsafe { bindings::init_wait_entry(entry, 0) };
        let result = loop {
            // SAFETY: The queue is initialised and `entry` is initialised.
            let signal = unsafe {
                bindings::prepare_to_wait_event(
                    self.head.get(),
                    entry,
                    bindings::TASK_INTERRUPTIBLE as c_int,
                )
            };
            if condition() {
                break Ok(());
            }
            if signal != 0 {
                break Err(ERESTARTSYS);
            }
            // SAFETY: Sleeping is allowed: the caller is in process context.
            unsafe { bindings::schedule() };
        };
        // SAFETY: The queue and `entry` are initialised; this restores the
        // task state and takes `entry` off the queue if it is still there.
        unsafe { bindings::finish_wait(self.head.get(), entry) };
        result
    }

    /// Sleeps uninterruptibly until `condition()` is true (C's `wait_event()`).
    ///
    /// Lesson builds only (`lost-wakeup`, `unbounded-drain`): the
    /// hung-task detector reports only uninterruptible sleepers.
    #[cfg(any(lesson = "lost-wakeup", lesson = "unbounded-drain"))]
    pub(crate) fn wait_uninterruptible_until(&self, mut condition: impl FnMut() -> bool) {
        let mut entry = MaybeUninit::<bindings::wait_queue_entry>::uninit();
        let entry = entry.as_mut_ptr();
        // SAFETY: As in `wait_interruptible_until`.
        unsafe { bindings::init_wait_entry(entry, 0) };
        loop {
            // SAFETY: As in `wait_interruptible_until`.
            unsafe {
                bindings::prepare_to_wait_event(
                    self.head.get(),
                    entry,
                    bindings::TASK_UNINTERRUPTIBLE as c_int,
                )
            };
            if condition() {
                break;
            }
            // SAFETY: Sleeping is allowed: the caller is in process context.
            unsafe { bindings::schedule() };
        }
        // SAFETY: As in `wait_interruptible_until`.
        unsafe { bindings::finish_wait(self.head.get(), entry) };
    }

    /// Registers `poll_table` on this queue (C's `poll_wait()`), from a `poll` file operation.
    ///
    /// # Safety
    ///
    /// `filp` and `table` must be the arguments of the `poll` call in progress
    /// (`table` may be null), and the queue must stay valid until every
    /// registration made here is removed: until the file's `release`.
    pub(crate) unsafe fn poll_wait(
        &self,
        filp: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) {
        // SAFETY: The caller passes the live `poll` arguments. The queue is
        // initialised (type invariant); how long it must live after this
        // call is the contract of its caller, `chrdev::PollTable::register`.
        unsafe { helpers::simrupt_poll_wait(filp.cast(), self.head.get(), table.cast()) };
    }
}
