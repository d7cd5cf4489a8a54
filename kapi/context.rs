// SPDX-License-Identifier: GPL-2.0

//! Where is this code running? The CPU number and execution-context queries.
//!
//! C: `linux/preempt.h`, `linux/irqflags.h`, `linux/smp.h`. These are macros
//! in C, so `helpers.c` wraps them in functions Rust can call: one,
//! `simrupt_context()`, answers the CPU number and three questions at once
//! ([`Here`]), the others one question each.

use super::helpers::*;
use core::ffi::CStr;

/// The number of the CPU this code runs on (C's `raw_smp_processor_id()`).
///
/// In process context the task may migrate right after this returns, so the
/// number is only a trace hint there; in IRQ and softirq context it is exact.
pub(crate) fn cpu() -> u32 {
    Here::now().cpu()
}

/// Where this code runs, asked once: the CPU number and whether this is hard-IRQ
/// context (C's `in_hardirq()`), a softirq handler ([`in_serving_softirq`])
/// or code with interrupts off ([`irqs_disabled`]).
///
/// One call into C instead of one per question. The top half asks three of
/// them on every tick, and each call into C costs more than the question:
/// under QEMU's emulation, where a callback that runs every 100 ms starts
/// cold, one to two microseconds each (`make bench`'s `steps` build, see
/// Documentation/benchmarks.md). The answers are those of the moment of the
/// call: take it after entering the context to check (after
/// [`with_irqs_disabled`] for the interrupt flag).
#[derive(Clone, Copy)]
pub(crate) struct Here(u64);

impl Here {
    // The bits of `simrupt_context()` in helpers.c, above the CPU number.
    const HARDIRQ: u64 = 1 << 32;
    const SERVING_SOFTIRQ: u64 = 1 << 33;
    const IRQS_DISABLED: u64 = 1 << 34;

    /// Asks now.
    pub(crate) fn now() -> Self {
        // SAFETY: Reading the CPU number, preempt count and interrupt flag
        // has no preconditions.
        Self(unsafe { simrupt_context() })
    }

    /// As [`cpu`].
    pub(crate) fn cpu(self) -> u32 {
        self.0 as u32
    }

    /// True in hard-IRQ context (C's `in_hardirq()`).
    pub(crate) fn in_hardirq(self) -> bool {
        self.0 & Self::HARDIRQ != 0
    }

    /// As [`in_serving_softirq`].
    pub(crate) fn in_serving_softirq(self) -> bool {
        self.0 & Self::SERVING_SOFTIRQ != 0
    }

    /// As [`irqs_disabled`].
    pub(crate) fn irqs_disabled(self) -> bool {
        self.0 & Self::IRQS_DISABLED != 0
    }
}

/// How many CPU numbers the kernel can use (C's `nr_cpu_ids`).
pub(crate) fn nr_cpu_ids() -> u32 {
    // SAFETY: `nr_cpu_ids` is set during early boot and never written again;
    // a volatile read is C's `READ_ONCE()`.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(kernel::bindings::nr_cpu_ids)) }
}

/// True while a softirq handler (tasklet, BH work, timer) runs (C's `in_serving_softirq()`).
pub(crate) fn in_serving_softirq() -> bool {
    Here::now().in_serving_softirq()
}

/// True in process (task) context (C's `in_task()`).
pub(crate) fn in_task() -> bool {
    // SAFETY: Reading the preempt count has no preconditions.
    unsafe { simrupt_in_task() }
}

/// True when interrupts are disabled on this CPU (C's `irqs_disabled()`).
pub(crate) fn irqs_disabled() -> bool {
    Here::now().irqs_disabled()
}

/// True when this code may be preempted (C's `preemptible()`).
///
/// Only kernels built with `CONFIG_PREEMPT_COUNT` count `preempt_disable()`
/// (and so spin locks) in the preempt count. Without it, C's `preemptible()`
/// is the constant `0`, whatever the context, so this function exists only
/// where the answer means something. `CONFIG_PREEMPT_COUNT` is on in every
/// preemptible kernel (`PREEMPT`, `PREEMPT_RT`, `PREEMPT_DYNAMIC`, which
/// Debian's kernels use) and with `DEBUG_ATOMIC_SLEEP` (the project's test
/// kernels); `PREEMPT_NONE` or `PREEMPT_VOLUNTARY` without debug options
/// leave it off. Use [`may_sleep`], which works on both.
#[cfg(CONFIG_PREEMPT_COUNT)]
pub(crate) fn preemptible() -> bool {
    // SAFETY: Reading the preempt count has no preconditions.
    unsafe { simrupt_preemptible() }
}

/// True when this code may sleep, as far as this kernel can tell.
///
/// Process context ([`in_task`]) with interrupts enabled; and, on kernels
/// that count it (`CONFIG_PREEMPT_COUNT`, see [`preemptible`]), preemption
/// enabled too. The hard-IRQ and softirq parts of the preempt count are kept
/// on every kernel, so the first two checks always hold their meaning; what a
/// kernel without `CONFIG_PREEMPT_COUNT` cannot see is a held spin lock or a
/// `preempt_disable()` section. That is the same blind spot as the kernel's
/// own `might_sleep()` there.
pub(crate) fn may_sleep() -> bool {
    #[cfg(CONFIG_PREEMPT_COUNT)]
    let preemption_enabled = preemptible();
    // Not visible on this kernel (see above): assume the best.
    #[cfg(not(CONFIG_PREEMPT_COUNT))]
    let preemption_enabled = true;
    in_task() && !irqs_disabled() && preemption_enabled
}

/// Prints a `WARNING:` with a backtrace (C's `WARN(1, ...)`); see [`check_context!`].
pub(crate) fn warn(what: &CStr) {
    // SAFETY: `what` is a valid NUL-terminated string for the duration of the call.
    unsafe { simrupt_warn(crate::kapi::c_chars(what)) }
}

/// Runs `f` with interrupts disabled on this CPU, then restores them (C's
/// `local_irq_save()`/`local_irq_restore()` pair).
///
/// A scope rather than a guard. A guard can be dropped in any order, and two
/// `local_irq_save()` guards dropped the wrong way round restore the inner
/// guard's flags (interrupts off) last: interrupts stay off for good. (Linux
/// 7.3's `local_interrupt_disable()` guard avoids that with a per-CPU nesting
/// count in C, which 6.12 does not have.) Calls of this function can only
/// nest, never overlap, so each one restores the state that was there when
/// it started, and the outermost one the original state, whatever `f` does.
///
/// `f` must not sleep, as with interrupts off in C: the kernel reports a
/// sleep there (`might_sleep()`), and the scheduler re-enables interrupts.
#[inline(always)]
pub(crate) fn with_irqs_disabled<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Saving and disabling the interrupt state is always allowed.
    let flags = unsafe { simrupt_local_irq_save() };
    let result = f();
    // SAFETY: `flags` came from `local_irq_save()` above. Any call of this
    // function inside `f` has returned, and restored its own flags first
    // (calls nest), so this restores the state from before our save.
    unsafe { simrupt_local_irq_restore(flags) };
    result
}

/// Checks at run time that code runs in the context it claims, warning once if not.
///
/// The Rust counterpart of the C original's `WARN_ON_ONCE(!in_softirq())`:
/// a failed check prints a kernel `WARNING:` with a backtrace, once per call
/// site, and the tests fail on any `WARNING:`.
#[cfg(not(any(bench_variant = "no-check", bench_variant = "bare")))]
macro_rules! check_context {
    ($ok:expr, $what:literal) => {{
        static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if !$ok && !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
            // Built at compile time: a NUL inside `$what` fails the build.
            const WHAT: &::core::ffi::CStr =
                match ::core::ffi::CStr::from_bytes_with_nul(concat!($what, "\0").as_bytes()) {
                    Ok(s) => s,
                    Err(_) => panic!("check_context!: the message contains a NUL"),
                };
            $crate::kapi::context::warn(WHAT);
        }
    }};
}
/// `make bench`'s variants without context checks (see Kbuild): the
/// condition is type-checked, never evaluated.
#[cfg(any(bench_variant = "no-check", bench_variant = "bare"))]
macro_rules! check_context {
    ($ok:expr, $what:literal) => {{
        let _ = || $ok;
    }};
}
pub(crate) use check_context;
