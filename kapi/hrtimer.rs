// SPDX-License-Identifier: GPL-2.0

//! A periodic high-resolution timer whose callback runs in hard-IRQ context.
//!
//! C: `linux/hrtimer.h`. The timer is set up with `HRTIMER_MODE_REL_HARD`, so
//! its callback runs from the timer interrupt itself, with interrupts disabled
//! (on `PREEMPT_RT` too): the closest a module can get to a real device's
//! interrupt handler without a device. The callback may not sleep, allocate
//! with `GFP_KERNEL`, or take a mutex.
//!
//! Upstream: Linux 6.13 and later have `kernel::time::hrtimer`, on which this
//! is modelled: the timer is a field of its owner `T`, it is started through
//! an `Arc<T>`, and the returned handle keeps that `Arc` until it cancels the
//! timer, so the owner outlives every callback. Upstream's callback gets an
//! `ArcBorrow<T>`; this one gets an [`ArcRef<T>`](super::ArcRef), which
//! makes the `ArcBorrow` only when the callback asks for it.
//!
//! ```text
//!   HrTimer::start(Arc<T>) ──► armed ──► callback: T::on_hrtimer(ArcRef<T>)
//!            │                   ▲            │ Restart::AfterNs ─┘
//!            ▼                   │            ▼ Restart::No
//!   HrTimerHandle (holds Arc<T>) │          idle
//!            │ drop: hrtimer_cancel() (waits for a running callback), then the Arc goes
//! ```

use super::ArcRef;
use super::{helpers, Embeds};
use core::marker::PhantomData;
use kernel::{bindings, prelude::*, sync::Arc, types::Opaque};

/// What an [`HrTimer`] callback returns.
pub(crate) enum Restart {
    /// Fire again this many nanoseconds after now.
    AfterNs(u64),
    /// Do not fire again until the next [`HrTimer::start`].
    No,
}

/// The owner of an [`HrTimer`]: what runs when it fires.
///
/// `'static`: while armed, the callback keeps its owner alive through an
/// `Arc`, but that cannot keep alive what the owner borrows; an owner that
/// borrowed a local, with its handle leaked, would be read after the local
/// died.
pub(crate) trait HrTimerHandler<const ID: u64 = 0>:
    Embeds<HrTimer<Self, ID>> + Send + Sync + Sized + 'static
{
    /// Called in hard-IRQ context, interrupts disabled, never concurrently with itself.
    ///
    /// # Safety
    ///
    /// Only the callback of [`HrTimer<Self, ID>`] calls it, when the timer
    /// that [`HrTimer::start`] armed fires. An implementation may rely on
    /// that, for example to be the only producer of a lock-free ring.
    unsafe fn on_hrtimer(this: ArcRef<'_, Self>) -> Restart;

    /// Called (in the same context) when the callback ran so late that
    /// `missed` whole periods passed without a tick: they are skipped, not
    /// caught up, so a slow machine gets fewer ticks rather than a storm.
    fn on_hrtimer_overrun(_this: ArcRef<'_, Self>, _missed: u64) {}
}

/// A `struct hrtimer`, a field of `T`, calling [`HrTimerHandler::on_hrtimer`].
///
/// # Invariants
///
/// `timer` was set up by `simrupt_hrtimer_setup()` with [`HrTimer::callback`].
/// It is only ever armed by [`HrTimer::start`], through `T`'s [`Embeds`] field,
/// and while it is armed or its callback runs, an [`HrTimerHandle`] holding an
/// `Arc<T>` to the owner exists.
#[repr(transparent)]
#[pin_data]
pub(crate) struct HrTimer<T, const ID: u64 = 0> {
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    _owner: PhantomData<T>,
}

// SAFETY: The hrtimer core serialises all operations on a timer with its own
// lock; the callback only gets shared access to `T`, which is `Sync`.
unsafe impl<T: Sync, const ID: u64> Sync for HrTimer<T, ID> {}
// SAFETY: As above; the timer is not tied to the thread that created it.
unsafe impl<T: Send, const ID: u64> Send for HrTimer<T, ID> {}

/// An armed (or armable) [`HrTimer`]; dropping it cancels the timer, then releases the owner.
pub(crate) struct HrTimerHandle<T: HrTimerHandler<ID>, const ID: u64> {
    owner: Arc<T>,
}

impl<T: HrTimerHandler<ID>, const ID: u64> HrTimer<T, ID> {
    /// Initialises a stopped timer in place (C's `hrtimer_setup()`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: The timer is set up with this type's callback.
            timer <- Opaque::ffi_init(|slot: *mut bindings::hrtimer| {
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { helpers::simrupt_hrtimer_setup(slot, Self::callback) };
            }),
            _owner: PhantomData,
        })
    }

    /// The C timer inside `owner`.
    fn raw(owner: &Arc<T>) -> *mut bindings::hrtimer {
        // SAFETY: `owner` is alive; `field_of` gives its `HrTimer<T, ID>` field,
        // which is `repr(transparent)` over the C timer.
        unsafe { T::field_of(core::ptr::from_ref::<T>(owner)) }
            .cast_mut()
            .cast()
    }

    /// Fires `owner`'s timer `ns` nanoseconds from now (C's `hrtimer_start()`).
    ///
    /// The returned handle keeps `owner` alive; dropping it stops the timer.
    pub(crate) fn start(owner: Arc<T>, ns: u64) -> HrTimerHandle<T, ID> {
        // INVARIANT: The handle returned holds an `Arc<T>` to the owner of the
        // timer armed here.
        // SAFETY: The timer is set up (type invariant) and pinned inside `owner`.
        unsafe { helpers::simrupt_hrtimer_start(Self::raw(&owner), ns) };
        HrTimerHandle { owner }
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the hrtimer core calls this, for a timer set up by [`Self::new`].
    // In `.text.hot`, with the C helpers a top half calls (`helpers.c`): a
    // handler inlined into this runs from one place (see `kapi.rs`).
    #[link_section = ".text.hot"]
    unsafe extern "C" fn callback(raw: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
        step!(0);
        // SAFETY: The timer was armed by `start` through `T::field_of` (type
        // invariant), so `raw` is the `HrTimer<T, ID>` field (transparent over
        // the C timer) of a `T`, and `container_of` inverts `field_of`.
        let owner = unsafe { T::container_of(raw.cast::<Self>()) };
        // SAFETY: `owner` is the pointer of an `Arc<T>` (`start` took it from
        // `Arc::as_ptr`), and the handle holding that `Arc` cancels the timer,
        // waiting for this callback, before it releases it (type invariant):
        // the count stays above zero for the whole call.
        let this = unsafe { ArcRef::from_raw(owner) };
        step!(1);
        // SAFETY: This is the timer's callback, run by the hrtimer core when
        // the timer armed by `start` fires (`on_hrtimer`'s contract).
        match unsafe { T::on_hrtimer(this) } {
            Restart::AfterNs(ns) => {
                // SAFETY: Forwarding the expiry of the timer being run is
                // what its callback is allowed to do (C's `hrtimer_forward_now()`).
                let periods = unsafe { helpers::simrupt_hrtimer_forward_now(raw, ns) };
                if periods > 1 {
                    T::on_hrtimer_overrun(this, periods - 1);
                }
                super::compat::HRTIMER_RESTART
            }
            Restart::No => super::compat::HRTIMER_NORESTART,
        }
    }
}

impl<T: HrTimerHandler<ID>, const ID: u64> Drop for HrTimerHandle<T, ID> {
    /// Stops the timer; blocks until a running callback has returned. May sleep.
    ///
    /// C's `hrtimer_cancel()`. Safe against a callback that restarts itself:
    /// once it returns the timer is neither queued nor running.
    fn drop(&mut self) {
        // SAFETY: The timer is set up and pinned inside `self.owner`, which
        // this handle keeps alive until after the call.
        unsafe { bindings::hrtimer_cancel(HrTimer::<T, ID>::raw(&self.owner)) };
    }
}
