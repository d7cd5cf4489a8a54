// SPDX-License-Identifier: GPL-2.0

//! A classic jiffies-based kernel timer (`struct timer_list`), as the C original uses.
//!
//! C: `linux/timer.h`. Its callback runs in *softirq* context (the `TIMER`
//! softirq) with interrupts enabled, so it is not a hard-IRQ handler; the C
//! `simrupt` disables interrupts inside it to pretend. Resolution is one jiffy.

use super::Embeds;
use core::marker::PhantomData;
use kernel::{bindings, init::PinInit, prelude::*, types::Opaque};

/// The owner of a [`TimerList`]: what runs when it fires.
pub(crate) trait TimerListHandler: Embeds<TimerList<Self>> + Sized {
    /// Called in softirq context, never concurrently with itself.
    ///
    /// Returns the delay in milliseconds after which to fire again, if any.
    fn on_timer_list(&self) -> Option<u32>;
}

/// A `struct timer_list` embedded in `T`, calling [`TimerListHandler::on_timer_list`].
///
/// # Invariants
///
/// `timer` was initialised by `init_timer_key()` with `T`'s callback, and
/// `self` lives inside a `T`.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub(crate) struct TimerList<T> {
    #[pin]
    timer: Opaque<bindings::timer_list>,
    _owner: PhantomData<T>,
}

// SAFETY: The timer core serialises operations on a timer with the base lock;
// the callback only gets `&T`, which is `Sync`.
unsafe impl<T: Sync> Sync for TimerList<T> {}
// SAFETY: As above; the timer is not tied to the thread that created it.
unsafe impl<T: Send> Send for TimerList<T> {}

fn jiffies_after_ms(ms: u32) -> kernel::ffi::c_ulong {
    // SAFETY: `jiffies` is always valid to read; a volatile read is C's `READ_ONCE`.
    let now = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::jiffies)) };
    now.wrapping_add(kernel::time::msecs_to_jiffies(ms))
}

impl<T: TimerListHandler> TimerList<T> {
    /// Initialises a stopped timer in place (C's `timer_setup()`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            timer <- Opaque::ffi_init(|slot: *mut bindings::timer_list| {
                // SAFETY: `slot` is valid for writes and pinned; the name and
                // the lockdep class key are `'static`.
                unsafe {
                    bindings::init_timer_key(
                        slot,
                        Some(Self::callback),
                        0,
                        kernel::c_str!("simrupt_timer").as_char_ptr(),
                        crate::kapi::static_lock_class!().as_ptr(),
                    )
                };
            }),
            _owner: PhantomData,
        })
    }

    /// Fires the timer `ms` milliseconds from now (C's `mod_timer()`).
    pub(crate) fn start(&self, ms: u32) {
        // SAFETY: By the type invariant the timer is initialised and pinned.
        unsafe { bindings::mod_timer(self.timer.get(), jiffies_after_ms(ms)) };
    }

    /// Stops the timer; blocks until a running callback has returned.
    ///
    /// C's `timer_delete_sync()`: on return the timer is neither pending nor
    /// running, even if the callback re-armed it. May sleep.
    pub(crate) fn cancel(&self) {
        // SAFETY: By the type invariant the timer is initialised.
        unsafe { bindings::timer_delete_sync(self.timer.get()) };
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the timer core calls this, with the `timer_list` set up by [`Self::new`].
    unsafe extern "C" fn callback(raw: *mut bindings::timer_list) {
        let timer = raw.cast::<Self>();
        // SAFETY: `raw` is the `timer` field of a `TimerList<T>` living inside
        // a `T` (type invariant); the owner cancels the timer before it is
        // dropped, so `T` is alive.
        let owner = unsafe { &*T::container_of(timer) };
        if let Some(ms) = owner.on_timer_list() {
            // SAFETY: Re-arming the timer from its own callback is allowed.
            unsafe { bindings::mod_timer(raw, jiffies_after_ms(ms)) };
        }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for TimerList<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The timer was initialised by `new` (type invariant). With
        // `DEBUG_OBJECTS_TIMERS` the kernel checks it is inactive when freed.
        unsafe { bindings::timer_delete_sync(self.timer.get()) };
    }
}
