// SPDX-License-Identifier: GPL-2.0

//! A classic jiffies-based kernel timer (`struct timer_list`), as the C original uses.
//!
//! C: `linux/timer.h`. Its callback runs in *softirq* context (the `TIMER`
//! softirq) with interrupts enabled, so it is not a hard-IRQ handler; the C
//! `simrupt` disables interrupts inside it to pretend. Resolution is one jiffy.
//!
//! Upstream has no Rust `timer_list` (Linux 7.3 included). Ownership works as
//! in [`super::hrtimer`]: the timer is a field of `T`, started through an
//! `Arc<T>`, and the handle keeps that `Arc` until `timer_delete_sync()` has
//! returned; the callback gets an [`ArcRef<T>`](super::ArcRef). Create one
//! with [`new_timer_list!`], which gives each call site its own lockdep
//! class, as C's `timer_setup()` does.

use super::ArcRef;
use super::{helpers, Embeds, LockClassKey};
use core::ffi::CStr;
use core::marker::PhantomData;
use kernel::{bindings, prelude::*, sync::Arc, types::Opaque};

/// The owner of a [`TimerList`]: what runs when it fires.
///
/// `'static`: while armed, the callback keeps its owner alive through an
/// `Arc`, but that cannot keep alive what the owner borrows; an owner that
/// borrowed a local, with its handle leaked, would be read after the local
/// died.
pub(crate) trait TimerListHandler<const ID: u64 = 0>:
    Embeds<TimerList<Self, ID>> + Send + Sync + Sized + 'static
{
    /// Called in softirq context, never concurrently with itself.
    ///
    /// Returns the delay in milliseconds after which to fire again, if any.
    ///
    /// # Safety
    ///
    /// Only the callback of [`TimerList<Self, ID>`] calls it, when the timer
    /// armed by [`TimerList::start`] (or re-armed by its callback) fires. An
    /// implementation may rely on that, for example to be the only producer
    /// of a lock-free ring.
    unsafe fn on_timer_list(this: ArcRef<'_, Self>) -> Option<u32>;
}

/// A `struct timer_list`, a field of `T`, calling [`TimerListHandler::on_timer_list`].
///
/// # Invariants
///
/// `timer` was set up by `simrupt_timer_setup()` with [`TimerList::callback`].
/// It is only ever armed by [`TimerList::start`] through `T`'s [`Embeds`]
/// field, or by its own callback, and while it is armed or its callback runs,
/// a [`TimerListHandle`] holding an `Arc<T>` to the owner exists.
#[repr(transparent)]
#[pin_data]
pub(crate) struct TimerList<T, const ID: u64 = 0> {
    #[pin]
    timer: Opaque<bindings::timer_list>,
    _owner: PhantomData<T>,
}

// SAFETY: The timer core serialises operations on a timer with the base lock;
// the callback only gets shared access to `T`, which is `Sync`.
unsafe impl<T: Sync, const ID: u64> Sync for TimerList<T, ID> {}
// SAFETY: As above; the timer is not tied to the thread that created it.
unsafe impl<T: Send, const ID: u64> Send for TimerList<T, ID> {}

/// An armed [`TimerList`]; dropping it deletes the timer, then releases the owner.
pub(crate) struct TimerListHandle<T: TimerListHandler<ID>, const ID: u64> {
    owner: Arc<T>,
}

/// Initialises a [`TimerList`] named `$name` with a lockdep class of its own.
macro_rules! new_timer_list {
    ($name:literal) => {
        $crate::kapi::timer_list::TimerList::new($name, $crate::kapi::static_lock_class!())
    };
}
pub(crate) use new_timer_list;

impl<T: TimerListHandler<ID>, const ID: u64> TimerList<T, ID> {
    /// Initialises a stopped timer in place (C's `timer_setup()`); use [`new_timer_list!`].
    ///
    /// `name` and `key` label the timer for lockdep (its callback is a "lock"
    /// that `timer_delete_sync()` waits on).
    pub(crate) fn new(name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: The timer is set up with this type's callback.
            timer <- Opaque::ffi_init(|slot: *mut bindings::timer_list| {
                // SAFETY: `slot` is valid for writes and pinned; the name and
                // the lockdep class key are `'static`.
                unsafe {
                    helpers::simrupt_timer_setup(
                        slot,
                        Self::callback,
                        crate::kapi::c_chars(name),
                        key.as_ptr(),
                    )
                };
            }),
            _owner: PhantomData,
        })
    }

    /// The C timer inside `owner`.
    fn raw(owner: &Arc<T>) -> *mut bindings::timer_list {
        // SAFETY: `owner` is alive; `field_of` gives its `TimerList<T, ID>`
        // field, which is `repr(transparent)` over the C timer.
        unsafe { T::field_of(core::ptr::from_ref::<T>(owner)) }
            .cast_mut()
            .cast()
    }

    /// Fires `owner`'s timer `ms` milliseconds from now (C's `mod_timer()`).
    ///
    /// The returned handle keeps `owner` alive; dropping it stops the timer.
    pub(crate) fn start(owner: Arc<T>, ms: u32) -> TimerListHandle<T, ID> {
        // INVARIANT: The handle returned holds an `Arc<T>` to the owner of the
        // timer armed here.
        // SAFETY: The timer is set up (type invariant) and pinned inside `owner`.
        unsafe { helpers::simrupt_timer_start_ms(Self::raw(&owner), ms) };
        TimerListHandle { owner }
    }

    /// The C callback: finds the owning `T` and runs its handler.
    ///
    /// # Safety
    ///
    /// Only the timer core calls this, for a timer set up by [`Self::new`].
    // In `.text.hot`, as `HrTimer`'s callback.
    #[link_section = ".text.hot"]
    unsafe extern "C" fn callback(raw: *mut bindings::timer_list) {
        step!(0);
        // SAFETY: The timer was armed through `T::field_of` (type invariant),
        // so `raw` is the `TimerList<T, ID>` field (transparent over the C
        // timer) of a `T`, and `container_of` inverts `field_of`.
        let owner = unsafe { T::container_of(raw.cast::<Self>()) };
        // SAFETY: `owner` is the pointer of an `Arc<T>` (`start` took it from
        // `Arc::as_ptr`), which a handle keeps until `timer_delete_sync()` has
        // waited for this callback (type invariant).
        let this = unsafe { ArcRef::from_raw(owner) };
        step!(1);
        // SAFETY: This is the timer's callback, run by the timer core when
        // the armed timer fires (`on_timer_list`'s contract).
        if let Some(ms) = unsafe { T::on_timer_list(this) } {
            // SAFETY: Re-arming the timer from its own callback is allowed;
            // the handle that keeps the owner alive has not been dropped yet.
            unsafe { helpers::simrupt_timer_start_ms(raw, ms) };
        }
    }
}

impl<T: TimerListHandler<ID>, const ID: u64> Drop for TimerListHandle<T, ID> {
    /// Stops the timer; blocks until a running callback has returned. May sleep.
    ///
    /// C's `timer_delete_sync()`: on return the timer is neither pending nor
    /// running, even if the callback re-armed it.
    fn drop(&mut self) {
        // SAFETY: The timer is set up and pinned inside `self.owner`, which
        // this handle keeps alive until after the call.
        unsafe { bindings::timer_delete_sync(TimerList::<T, ID>::raw(&self.owner)) };
    }
}
