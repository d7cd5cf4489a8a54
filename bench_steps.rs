// SPDX-License-Identifier: GPL-2.0

//! `make bench` only (`BENCH_VARIANT=steps`, see Kbuild): where the top half's time goes.
//!
//! The top half of this build reads the CPU's time-stamp counter at each
//! step (`step!` in simrupt.rs) of its first [`TICKS`] ticks, and the module prints
//! them when it is unloaded, one line per tick:
//! `simrupt-steps: TICK S0 S1 ... S10` (absolute TSC values). The benchmark
//! trace uses the same counter (the `x86-tsc` trace clock), so the guest
//! script also sees the time from the timer core's `*_expire_entry` event to
//! step 0, and from the last step to `*_expire_exit`. The steps:
//!
//! | step | where |
//! |---:|---|
//! | 0 | kapi's C-ABI trampoline is entered (`callback` in kapi/hrtimer.rs, kapi/timer_list.rs) |
//! | 1 | the trampoline has the owner (`container_of`, `ArcRef::from_raw`) |
//! | 2 | the Rust handler is entered (`on_hrtimer`, `on_timer_list`) and checked `timer_kind` |
//! | 3 | `timer_handler` has tested `trace` |
//! | 4 | interrupts are off (`timer_list`), the context was asked (CPU number, flags) and checked |
//! | 5 | the clock was read (`now_ns`) |
//! | 6 | the statistics counted the production |
//! | 7 | the byte is in `fast_buf` |
//! | 8 | the tasklet is scheduled |
//! | 9 | the statistics recorded the top half's time (a second clock read) |
//! | 10 | interrupts are back on (`timer_list`); the handler is about to return the next expiry |
//!
//! The readings cost time of their own, inside the steps they separate: an
//! `rdtsc` and a store, and the first store of a tick touches the stamps'
//! page (under emulation a page first touched since the last context switch
//! costs a page walk). `make bench` prints the `steps` build's whole
//! callback next to the normal build's, which shows what they add in all.
//! Never in the normal module.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{pr_cont, prelude::*};

/// Steps per tick.
pub(crate) const STEPS: usize = 11;
/// Ticks recorded: the first ones after load (5 s at 100 ms is 50).
pub(crate) const TICKS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ROW: [AtomicU64; STEPS] = [ZERO; STEPS];
static STAMPS: [[AtomicU64; STEPS]; TICKS] = [ROW; TICKS];
/// Ticks recorded so far. Only the top half writes it, and top halves never overlap.
static TICK: AtomicUsize = AtomicUsize::new(0);

/// Records step `n` of the current tick; step `STEPS - 1` ends the tick.
pub(crate) fn stamp(n: usize) {
    let tick = TICK.load(Relaxed);
    if let Some(row) = STAMPS.get(tick) {
        // SAFETY: `rdtsc` reads the time-stamp counter; it has no
        // preconditions (x86-64 only, as kapi/kfifo.rs requires).
        #[allow(unused_unsafe)]
        let now = unsafe { core::arch::x86_64::_rdtsc() };
        if let Some(slot) = row.get(n) {
            slot.store(now, Relaxed);
        }
        if n == STEPS - 1 {
            TICK.store(tick + 1, Relaxed);
        }
    }
}

/// Prints every recorded tick (called at unload, after the timer stopped):
/// one line each, continued number by number (nothing else prints then).
pub(crate) fn print() {
    for (i, row) in STAMPS.iter().enumerate().take(TICK.load(Relaxed)) {
        pr_info!("simrupt-steps: {}", i);
        for stamp in row {
            pr_cont!(" {}", stamp.load(Relaxed));
        }
        pr_cont!("\n");
    }
}
