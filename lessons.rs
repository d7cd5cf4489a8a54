// SPDX-License-Identifier: GPL-2.0

//! Lesson builds: the deliberate mistakes of `make lesson NAME=...`, never in the normal module.
//!
//! This file is compiled only with `--cfg lesson` (`Kbuild` adds it when
//! `LESSON` is set; `scripts/lesson.sh` does that in a copy of the tree).
//! Each mistake sits in `simrupt.rs` itself, behind
//! `#[cfg(lesson = "NAME")]`, next to the line it breaks; what needs more
//! than a line lives here. Every item here is wrong on purpose: the
//! `// LESSON` comments say how, and `lessons/NAME.txt` explains it.

// Each lesson compiles only its own items: paths are spelled out, so that no
// `use` goes unused in another lesson's build.

// `modinfo simrupt.ko` names the lesson: "lesson: NAME".
const INFO: &str = concat!("lesson=", env!("SIMRUPT_LESSON"));
#[link_section = ".modinfo"]
#[used(compiler)]
static MODINFO: [u8; INFO.len() + 1] = crate::kapi::param::modinfo(INFO);

/// How the `sleep-in-tasklet` lesson's bottom half sleeps.
#[cfg(lesson = "sleep-in-tasklet")]
static LESSON_SLEEP: crate::kapi::param::ChoiceParam =
    crate::kapi::param::ChoiceParam::new(&["might", "sleep"], "expected might or sleep");
#[cfg(lesson = "sleep-in-tasklet")]
crate::kapi::param::module_param!(
    LESSON_SLEEP,
    "lesson_sleep",
    0o644,
    "sleep-in-tasklet lesson: might (a GFP_KERNEL allocation, which may sleep) or sleep (msleep(10), which does)"
);

/// The bottom half does something that may sleep, once per load (`sleep-in-tasklet`).
///
/// LESSON sleep-in-tasklet: softirq context may never sleep.
#[cfg(lesson = "sleep-in-tasklet")]
pub(crate) fn sleep_in_bottom_half() {
    use core::sync::atomic::{AtomicBool, Ordering};
    use kernel::prelude::*;
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::Relaxed) {
        return;
    }
    if LESSON_SLEEP.index() == 0 {
        pr_info!("lesson: allocating with GFP_KERNEL in the bottom half\n");
        // A `GFP_KERNEL` allocation may sleep to reclaim memory; here it
        // almost never has to, but `might_sleep()` inside checks the context.
        drop(KBox::new([0u8; 64], GFP_KERNEL));
    } else {
        pr_info!("lesson: msleep(10) in the bottom half\n");
        // SAFETY: None, on purpose: `msleep` calls `schedule()`, which a
        // softirq must never do. That is the lesson.
        unsafe { kernel::bindings::msleep(10) };
        pr_info!("lesson: back from msleep in the bottom half\n");
    }
}

/// Arms the top half and throws its handle away (`no-teardown`).
///
/// LESSON no-teardown: nothing will ever cancel this timer. The handle would
/// have cancelled it in `Drop`; `mem::forget` skips that `Drop`. The handle
/// also held an `Arc` of the device, which would keep the memory alive (a
/// leak, but no crash), so this gives that reference back through a raw
/// pointer: now unload frees the device while its timer is still armed,
/// exactly what a C driver does when its exit function forgets `hrtimer_cancel()`.
#[cfg(lesson = "no-teardown")]
pub(crate) fn start_and_forget(
    this: kernel::sync::ArcBorrow<'_, crate::Simrupt>,
    ns: u64,
) -> Option<crate::kapi::hrtimer::HrTimerHandle<crate::Simrupt, 0>> {
    use crate::{kapi::hrtimer::HrTimer, Simrupt};
    use kernel::sync::Arc;
    let handle = HrTimer::start(this.into(), ns);
    core::mem::forget(handle);
    let raw = Arc::into_raw(Arc::<Simrupt>::from(this));
    // SAFETY: None, on purpose. `raw` holds one reference (taken just above)
    // and the forgotten handle another; both are dropped here, so the count
    // no longer covers the armed timer.
    unsafe {
        drop(Arc::from_raw(raw));
        drop(Arc::from_raw(raw));
    }
    None
}

/// Allocates a per-open record and loses it (`leak`).
///
/// LESSON leak: `KBox::into_raw` turns the owning box into a bare pointer,
/// which nothing frees; the pointer is then dropped too.
#[cfg(lesson = "leak")]
pub(crate) fn leak_per_open() -> kernel::error::Result {
    use kernel::prelude::*;
    let record = KBox::new([0x5au8; 200], GFP_KERNEL)?;
    let _lost = KBox::into_raw(record);
    Ok(())
}
