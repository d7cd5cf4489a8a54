// SPDX-License-Identifier: GPL-2.0

//! A tasklet: the classic bottom half, run in softirq context soon after it is scheduled.
//!
//! C: `linux/interrupt.h`. A tasklet runs on the CPU that scheduled it, never
//! concurrently with itself, with interrupts enabled but in atomic context:
//! it may not sleep. Tasklets are deprecated upstream in favour of BH
//! workqueues (see [`super::wq::system_bh`]); simrupt offers both. Upstream
//! Rust (Linux 7.3 included) has no tasklet wrapper.
//!
//! Scheduling must be possible from hard-IRQ context, through a plain `&self`,
//! so the owner cannot be kept alive by taking a reference at each schedule
//! (dropping the last one inside the callback would free the tasklet while the
//! softirq core still uses it). Instead the tasklet is *enabled* by
//! [`Tasklet::enable`], which returns a handle holding an `Arc<T>`;
//! [`Tasklet::schedule`] does nothing unless a handle exists, and dropping the
//! last handle kills the tasklet (waits until it is neither scheduled nor
//! running) before it releases the owner.

use super::{helpers, Embeds};
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{bindings, prelude::*, sync::Arc, sync::ArcBorrow, types::Opaque};

/// The owner of a [`Tasklet`]: what runs when it is scheduled.
///
/// `'static`: while scheduled or enabled, the tasklet keeps its owner alive through an
/// `Arc`, but that cannot keep alive what the owner borrows; an owner that
/// borrowed a local, with its handle leaked, would be read after the local
/// died.
pub(crate) trait TaskletHandler<const ID: u64 = 0>:
    Embeds<Tasklet<Self, ID>> + Send + Sync + Sized + 'static
{
    /// Called in softirq context, never concurrently with itself.
    fn on_tasklet(this: ArcBorrow<'_, Self>);
}

/// A `struct tasklet_struct`, a field of `T`, calling [`TaskletHandler::on_tasklet`].
///
/// # Invariants
///
/// - `tasklet` was set up by `tasklet_setup()` with [`Tasklet::callback`].
/// - `handles` counts the live [`TaskletHandle`]s of this tasklet; each holds
///   an `Arc<T>` to the `T` this tasklet is the [`Embeds`] field of (only
///   [`Tasklet::enable`] creates one, through `T::field_of`).
/// - The tasklet is scheduled only while `handles > 0` (see [`Tasklet::schedule`]
///   and the handshake in [`TaskletHandle`]'s `Drop`),
///   and the handle that brings `handles` to zero kills it before it releases
///   its `Arc`: while scheduled or running, the owner is alive.
#[pin_data]
pub(crate) struct Tasklet<T, const ID: u64 = 0> {
    #[pin]
    tasklet: Opaque<bindings::tasklet_struct>,
    /// Live handles.
    handles: AtomicU32,
    /// Calls of [`Tasklet::schedule`] in progress.
    scheduling: AtomicU32,
    _owner: PhantomData<T>,
}

// SAFETY: Tasklet state changes are atomic bit operations in the C core and
// the counters are atomics; the callback only gets shared access to `T: Sync`.
unsafe impl<T: Sync, const ID: u64> Sync for Tasklet<T, ID> {}
// SAFETY: As above.
unsafe impl<T: Send, const ID: u64> Send for Tasklet<T, ID> {}

/// The right to run a [`Tasklet`]; dropping the last one kills it, then releases the owner.
pub(crate) struct TaskletHandle<T: TaskletHandler<ID>, const ID: u64> {
    owner: Arc<T>,
}

impl<T: TaskletHandler<ID>, const ID: u64> Tasklet<T, ID> {
    /// Initialises a disabled tasklet in place (C's `tasklet_setup()`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: Set up with this type's callback; no handle yet.
            tasklet <- Opaque::ffi_init(|slot: *mut bindings::tasklet_struct| {
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { helpers::simrupt_tasklet_setup(slot, Self::callback) };
            }),
            handles: AtomicU32::new(0),
            scheduling: AtomicU32::new(0),
            _owner: PhantomData,
        })
    }

    fn of(owner: &Arc<T>) -> &Self {
        // SAFETY: `owner` is alive and borrowed for the returned lifetime;
        // `field_of` gives its `Tasklet<T, ID>` field.
        unsafe { &*T::field_of(core::ptr::from_ref::<T>(owner)) }
    }

    /// Allows `owner`'s tasklet to be scheduled until the returned handle (and any other) is dropped.
    pub(crate) fn enable(owner: Arc<T>) -> TaskletHandle<T, ID> {
        // INVARIANT: The count includes the handle created here, which holds
        // the `Arc` of the tasklet's owner.
        Self::of(&owner).handles.fetch_add(1, Ordering::SeqCst);
        TaskletHandle { owner }
    }

    /// Schedules the tasklet to run soon on this CPU (C's `tasklet_schedule()`).
    ///
    /// Callable from any context, hard IRQ included. Scheduling an already
    /// scheduled tasklet does nothing: it runs once. Without a handle (before
    /// [`Tasklet::enable`], after the last handle is gone) it does nothing.
    pub(crate) fn schedule(&self) {
        // `make bench`'s variant without the handshake (see Kbuild): what C
        // does, unsound here (a schedule racing with the last handle's drop
        // could schedule a tasklet about to be freed). Only for measuring.
        #[cfg(any(bench_variant = "plain-tasklet", bench_variant = "bare"))]
        {
            // SAFETY: Not sound for every caller (above); the benchmark's
            // runs never drop the handle while the timer can fire.
            unsafe { helpers::simrupt_tasklet_schedule(self.tasklet.get()) };
            return;
        }
        // Announce this call before looking at `handles`, and the last handle
        // clears `handles` before it waits for `scheduling` to drop to zero:
        // with sequentially consistent operations on both sides, either this
        // call sees no handle, or the last handle waits for it to finish (and
        // then kills the tasklet it scheduled).
        self.scheduling.fetch_add(1, Ordering::SeqCst);
        if self.handles.load(Ordering::SeqCst) > 0 {
            #[cfg(kapi_selftest)]
            selftest::WINDOW.wait();
            // SAFETY: The tasklet is set up and pinned (type invariant), and
            // a handle keeps its owner alive until it has killed it.
            unsafe { helpers::simrupt_tasklet_schedule(self.tasklet.get()) };
        }
        self.scheduling.fetch_sub(1, Ordering::Release);
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the softirq core calls this, for a tasklet set up by [`Self::new`].
    unsafe extern "C" fn callback(raw: *mut bindings::tasklet_struct) {
        // SAFETY: `raw` is the `tasklet` field of a `Tasklet<T, ID>`, and that
        // tasklet is scheduled only while a handle exists, so it is the
        // `Embeds` field of a live `T` (type invariant).
        let owner = unsafe {
            let tasklet = raw
                .cast::<u8>()
                .sub(core::mem::offset_of!(Self, tasklet))
                .cast::<Self>();
            T::container_of(tasklet)
        };
        // SAFETY: `owner` is the pointer of the `Arc<T>` a handle holds (it
        // came from `Arc::as_ptr`), and the last handle kills the tasklet,
        // waiting for this callback, before it releases that `Arc`.
        T::on_tasklet(unsafe { ArcBorrow::from_raw(owner) });
    }
}

impl<T: TaskletHandler<ID>, const ID: u64> Drop for TaskletHandle<T, ID> {
    /// The last handle waits until the tasklet is neither scheduled nor running
    /// (C's `tasklet_kill()`). May sleep.
    fn drop(&mut self) {
        let tasklet = Tasklet::<T, ID>::of(&self.owner);
        if tasklet.handles.fetch_sub(1, Ordering::SeqCst) != 1 {
            return; // Another handle keeps the owner alive while it may run.
        }
        // A `schedule` that saw this handle may still be about to schedule.
        // This load and the `fetch_sub` above are the second half of the
        // store-then-load handshake with `schedule` (its `fetch_add`, then its
        // load of `handles`): all four are `SeqCst`, so in their single total
        // order either `schedule`'s `fetch_add` comes first and this loop
        // sees it, or it comes after this load, and then `schedule`'s load of
        // `handles` comes after our `fetch_sub` and sees no handle. An
        // `Acquire` load here would allow both sides to miss each other.
        // When the loop sees 0, it read the `Release` `fetch_sub` of every
        // `schedule` that saw a handle: their `tasklet_schedule()` happened
        // before `tasklet_kill()` below.
        while tasklet.scheduling.load(Ordering::SeqCst) != 0 {
            core::hint::spin_loop();
        }
        // SAFETY: The tasklet is set up (type invariant) and its owner is
        // alive: this handle still holds it.
        unsafe { bindings::tasklet_kill(tasklet.tasklet.get()) };
    }
}

/// Test builds only: widens the race between [`Tasklet::schedule`] and the last handle's drop.
///
/// `tests/kapi/selftest.rs` sets [`selftest::WINDOW`]`.ns` to make each
/// `schedule` that has seen a handle wait that long before it schedules,
/// so that a drop on another CPU meets it inside the window that the
/// handshake in [`TaskletHandle`]'s `Drop` must close. The normal build
/// has none of it.
#[cfg(kapi_selftest)]
pub(crate) mod selftest {
    /// The window; see [`crate::kapi::RaceWindow`].
    pub(crate) static WINDOW: crate::kapi::RaceWindow = crate::kapi::RaceWindow::new();
}
