// SPDX-License-Identifier: GPL-2.0

//! A tasklet: the classic bottom half, run in softirq context soon after it is scheduled.
//!
//! C: `linux/interrupt.h`. A tasklet runs on the CPU that scheduled it, never
//! concurrently with itself, with interrupts enabled but in atomic context:
//! it may not sleep. Tasklets are deprecated upstream in favour of BH
//! workqueues (see [`super::wq::system_bh`]); simrupt offers both.

use super::Embeds;
use core::marker::PhantomData;
use kernel::{bindings, init::PinInit, prelude::*, types::Opaque};

extern "C" {
    fn simrupt_tasklet_schedule(t: *mut bindings::tasklet_struct);
}

/// The owner of a [`Tasklet`]: what runs when it is scheduled.
pub(crate) trait TaskletHandler: Embeds<Tasklet<Self>> + Sized {
    /// Called in softirq context, never concurrently with itself.
    fn on_tasklet(&self);
}

/// A `struct tasklet_struct` embedded in `T`, calling [`TaskletHandler::on_tasklet`].
///
/// # Invariants
///
/// `tasklet` was initialised by `tasklet_setup()` with `T`'s callback, and
/// `self` lives inside a `T`.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub(crate) struct Tasklet<T> {
    #[pin]
    tasklet: Opaque<bindings::tasklet_struct>,
    _owner: PhantomData<T>,
}

// SAFETY: Tasklet state changes are atomic bit operations in the C core; the
// callback only gets `&T`, which is `Sync`.
unsafe impl<T: Sync> Sync for Tasklet<T> {}
// SAFETY: As above.
unsafe impl<T: Send> Send for Tasklet<T> {}

impl<T: TaskletHandler> Tasklet<T> {
    /// Initialises the tasklet in place (C's `tasklet_setup()`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            tasklet <- Opaque::ffi_init(|slot: *mut bindings::tasklet_struct| {
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { bindings::tasklet_setup(slot, Some(Self::callback)) };
            }),
            _owner: PhantomData,
        })
    }

    /// Schedules the tasklet to run soon on this CPU (C's `tasklet_schedule()`).
    ///
    /// Callable from any context, hard IRQ included. Scheduling an already
    /// scheduled tasklet does nothing: it runs once.
    pub(crate) fn schedule(&self) {
        // SAFETY: By the type invariant the tasklet is initialised and pinned.
        unsafe { simrupt_tasklet_schedule(self.tasklet.get()) };
    }

    /// Waits until the tasklet is neither scheduled nor running (C's `tasklet_kill()`).
    ///
    /// The caller must first stop whatever schedules it. May sleep.
    pub(crate) fn kill(&self) {
        // SAFETY: By the type invariant the tasklet is initialised.
        unsafe { bindings::tasklet_kill(self.tasklet.get()) };
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the softirq core calls this, with the `tasklet_struct` set up by [`Self::new`].
    unsafe extern "C" fn callback(raw: *mut bindings::tasklet_struct) {
        // SAFETY: `raw` is the `tasklet` field of a `Tasklet<T>` living inside
        // a `T` (type invariant); the owner kills the tasklet before it is
        // dropped, so `T` is alive.
        let owner = unsafe { &*T::container_of(raw.cast::<Self>()) };
        owner.on_tasklet();
    }
}

#[pinned_drop]
impl<T> PinnedDrop for Tasklet<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The tasklet was initialised by `new` (type invariant).
        unsafe { bindings::tasklet_kill(self.tasklet.get()) };
    }
}
