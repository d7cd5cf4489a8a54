// SPDX-License-Identifier: GPL-2.0

//! A periodic high-resolution timer whose callback runs in hard-IRQ context.
//!
//! C: `linux/hrtimer.h`. The timer is set up with `HRTIMER_MODE_REL_HARD`, so
//! its callback runs from the timer interrupt itself, with interrupts disabled
//! (on `PREEMPT_RT` too): the closest a module can get to a real device's
//! interrupt handler without a device. The callback may not sleep, allocate
//! with `GFP_KERNEL`, or take a mutex.

use super::Embeds;
use core::marker::PhantomData;
use kernel::{bindings, init::PinInit, prelude::*, types::Opaque};

/// What an [`HrTimer`] callback returns.
pub(crate) enum Restart {
    /// Fire again this many nanoseconds after now.
    AfterNs(u64),
    /// Do not fire again until [`HrTimer::start`].
    No,
}

/// The owner of an [`HrTimer`]: what runs when it fires.
pub(crate) trait HrTimerHandler: Embeds<HrTimer<Self>> + Sized {
    /// Called in hard-IRQ context, interrupts disabled, never concurrently with itself.
    fn on_hrtimer(&self) -> Restart;

    /// Called (in the same context) when the callback ran so late that
    /// `missed` whole periods passed without a tick: they are skipped, not
    /// caught up, so a slow machine gets fewer ticks rather than a storm.
    fn on_hrtimer_overrun(&self, _missed: u64) {}
}

/// A `struct hrtimer` embedded in `T`, calling [`HrTimerHandler::on_hrtimer`].
///
/// # Invariants
///
/// `timer` was initialised by `hrtimer_init()` with `T`'s callback, and `self`
/// lives inside a `T` (it is only created through [`HrTimer::new`] as a pinned
/// field of `T`).
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub(crate) struct HrTimer<T> {
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    _owner: PhantomData<T>,
}

// SAFETY: The hrtimer core serialises all operations on a timer with its own
// lock; the callback only gets `&T`, which is `Sync`.
unsafe impl<T: Sync> Sync for HrTimer<T> {}
// SAFETY: As above; the timer is not tied to the thread that created it.
unsafe impl<T: Send> Send for HrTimer<T> {}

impl<T: HrTimerHandler> HrTimer<T> {
    /// Initialises a stopped timer in place (C's `hrtimer_init()`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            timer <- Opaque::ffi_init(|slot: *mut bindings::hrtimer| {
                // SAFETY: `slot` is valid for writes and pinned; `hrtimer_init`
                // initialises every field before we set the callback.
                unsafe {
                    bindings::hrtimer_init(
                        slot,
                        bindings::CLOCK_MONOTONIC as i32,
                        bindings::hrtimer_mode_HRTIMER_MODE_REL_HARD,
                    );
                    (*slot).function = Some(Self::callback);
                }
            }),
            _owner: PhantomData,
        })
    }

    /// Fires the timer `ns` nanoseconds from now (C's `hrtimer_start()`).
    pub(crate) fn start(&self, ns: u64) {
        // SAFETY: By the type invariant the timer is initialised and pinned.
        unsafe {
            bindings::hrtimer_start_range_ns(
                self.timer.get(),
                ns as i64,
                0,
                bindings::hrtimer_mode_HRTIMER_MODE_REL_HARD,
            )
        };
    }

    /// Stops the timer; blocks until a running callback has returned.
    ///
    /// C's `hrtimer_cancel()`. Safe against a callback that restarts itself:
    /// once this returns the timer is neither queued nor running. May sleep.
    pub(crate) fn cancel(&self) {
        // SAFETY: By the type invariant the timer is initialised.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the hrtimer core calls this, with the `hrtimer` set up by [`Self::new`].
    unsafe extern "C" fn callback(raw: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
        let timer = raw.cast::<Self>();
        // SAFETY: `raw` is the `timer` field of an `HrTimer<T>` (it is
        // `repr(transparent)`) that lives inside a `T` (type invariant); the
        // owner cancels the timer before it is dropped, so `T` is alive.
        let owner = unsafe { &*T::container_of(timer) };
        match owner.on_hrtimer() {
            Restart::AfterNs(ns) => {
                // SAFETY: Forwarding the expiry of the timer being run is what
                // the callback is allowed to do (C's `hrtimer_forward_now()`).
                let periods =
                    unsafe { bindings::hrtimer_forward(raw, bindings::ktime_get(), ns as i64) };
                if periods > 1 {
                    owner.on_hrtimer_overrun(periods - 1);
                }
                bindings::hrtimer_restart_HRTIMER_RESTART
            }
            Restart::No => bindings::hrtimer_restart_HRTIMER_NORESTART,
        }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for HrTimer<T> {
    fn drop(self: Pin<&mut Self>) {
        // The owner stops the timer before tearing itself down; cancelling again
        // here is cheap and guarantees the callback never outlives the timer.
        // SAFETY: The timer was initialised by `new` (type invariant).
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }
}
