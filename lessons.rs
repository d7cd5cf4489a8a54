// SPDX-License-Identifier: GPL-2.0

//! Lesson builds: the deliberate mistakes of `make lesson NAME=...`, never in the normal module.
//!
//! This file is compiled only with `--cfg lesson` (`Kbuild` adds it when
//! `LESSON` is set; `scripts/lesson.sh` does that in a copy of the tree).
//! `simrupt.rs` calls one hook per pipeline stage, behind `#[cfg(lesson)]`:
//!
//! | hook (in `simrupt.rs`) | stage | lessons |
//! | --- | --- | --- |
//! | [`process_data`] | top half | `unsync-counter`, `mutex-in-top-half` |
//! | [`simrupt_tasklet_func`] | bottom half | `sleep-in-tasklet` |
//! | [`simrupt_work_func`] | work item | `guard-after-unlock`, `fifo-writer-clone`, `lock-inversion`, `unbounded-drain`, `lost-wakeup` |
//! | [`read_wait`] | `read()` | `lost-wakeup`, `unbounded-drain` |
//! | [`open`], [`start`], [`stop`] | open and close | `leak`, `no-teardown`, `lock-inversion` |
//!
//! A hook that returns `true` (or `Some`) ran the lesson's version of its
//! step *instead of* the real one; each is a copy of the real code with the
//! mistake in it, so the two can be read side by side. A lesson that does
//! not touch a stage gets the hook that does nothing. Every item here is
//! wrong on purpose: the `// LESSON` comments say how, and `lessons/NAME.txt`
//! explains it.

// Each lesson compiles only its own items: paths are spelled out, so that no
// `use` goes unused in another lesson's build.

use crate::Simrupt;
use kernel::sync::ArcBorrow;

// `modinfo simrupt.ko` names the lesson: "lesson: NAME".
const INFO: &str = concat!("lesson=", env!("SIMRUPT_LESSON"));
#[link_section = ".modinfo"]
#[used(compiler)]
static MODINFO: [u8; INFO.len() + 1] = crate::kapi::param::modinfo(INFO);

// --- Top half: `process_data` ----------------------------------------------------

// LESSON unsync-counter: C's `static unsigned long ticks;`, in Rust.
#[cfg(lesson = "unsync-counter")]
static TICKS: core::cell::Cell<u64> = core::cell::Cell::new(0);

/// The top half's lessons; `true` if the lesson's `process_data` ran instead of the real one.
#[cfg(lesson = "unsync-counter")]
pub(crate) fn process_data(_this: crate::kapi::ArcRef<'_, Simrupt>, _cpu: u32, _now: u64) -> bool {
    // LESSON unsync-counter: a plain global counter, bumped from every CPU.
    TICKS.set(TICKS.get() + 1);
    false
}

/// The top half's lessons; `true` if the lesson's `process_data` ran instead of the real one.
///
/// LESSON mutex-in-top-half: each byte goes straight into `rx_fifo`, under
/// `producer_lock`, a mutex, in hard-IRQ context.
#[cfg(lesson = "mutex-in-top-half")]
pub(crate) fn process_data(this: crate::kapi::ArcRef<'_, Simrupt>, cpu: u32, now: u64) -> bool {
    use crate::{next_simrupt_data, BottomHalfKind, Sample, BH_WORK, BURST};
    use core::sync::atomic::Ordering;
    use kernel::sync::Arc;
    trace!("[CPU#%u] produce data\n", cpu => u32);
    let burst = BURST.get();
    this.stats.produced(burst, now);
    let mut data = this.simrupt_data.load(Ordering::Relaxed);
    for _ in 0..burst {
        data = next_simrupt_data(data);
        let sample = Sample::new(data, now);
        // LESSON mutex-in-top-half: straight into `rx_fifo`, under a mutex, in hard IRQ.
        this.produce_data(&mut this.producer_lock.lock(), sample);
    }
    this.simrupt_data.store(data, Ordering::Relaxed);
    match this.bottom_half {
        BottomHalfKind::Tasklet => {
            trace!("[CPU#%u] scheduling tasklet\n", cpu => u32);
            this.tasklet.schedule();
        }
        BottomHalfKind::BhWorkqueue => {
            trace!("[CPU#%u] scheduling bh work\n", cpu => u32);
            let _ = crate::kapi::wq::system_bh().enqueue::<Arc<Simrupt>, BH_WORK>(this.into());
        }
    }
    true
}

/// The top half's lessons: none in this build.
#[cfg(not(any(lesson = "unsync-counter", lesson = "mutex-in-top-half")))]
pub(crate) fn process_data(_this: crate::kapi::ArcRef<'_, Simrupt>, _cpu: u32, _now: u64) -> bool {
    false
}

// --- Bottom half: `simrupt_tasklet_func` ------------------------------------------

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

/// The bottom half's lesson: it does something that may sleep, once per load (`sleep-in-tasklet`).
///
/// LESSON sleep-in-tasklet: softirq context may never sleep.
#[cfg(lesson = "sleep-in-tasklet")]
pub(crate) fn simrupt_tasklet_func() {
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

/// The bottom half's lessons: none in this build.
#[cfg(not(lesson = "sleep-in-tasklet"))]
pub(crate) fn simrupt_tasklet_func() {}

// --- Work item: `simrupt_work_func` ------------------------------------------------

/// The work item's lessons; `true` if the lesson's `simrupt_work_func` ran instead of the real one.
///
/// A copy of the real `simrupt_work_func`, with each lesson's mistake behind
/// its own `#[cfg(lesson = "NAME")]`.
#[cfg(any(
    lesson = "guard-after-unlock",
    lesson = "fifo-writer-clone",
    lesson = "lock-inversion",
    lesson = "unbounded-drain",
    lesson = "lost-wakeup"
))]
pub(crate) fn simrupt_work_func(this: ArcBorrow<'_, Simrupt>) -> bool {
    use crate::{
        kapi::context::{self, check_context},
        now_ns, FAST_BUF_SIZE, WORK,
    };
    use kernel::sync::Arc;
    let cpu = context::cpu();
    this.stats.work_started(cpu, now_ns());
    trace!("[CPU#%u] simrupt_work_func\n", cpu => u32);
    check_context!(
        context::may_sleep(),
        "simrupt_work_func must run in process context that may sleep"
    );
    let start = now_ns();
    let mut moved = 0;
    #[cfg(not(lesson = "unbounded-drain"))]
    let bound = FAST_BUF_SIZE;
    // LESSON unbounded-drain: no bound: drain until `fast_buf` is empty.
    #[cfg(lesson = "unbounded-drain")]
    let bound = usize::MAX;
    while moved < bound {
        #[cfg(not(lesson = "guard-after-unlock"))]
        let sample = {
            let mut consumer = this.consumer_lock.lock();
            this.fast_buf_get(&mut consumer)
        };
        // LESSON guard-after-unlock: unlock, then use what the lock guards.
        #[cfg(lesson = "guard-after-unlock")]
        let sample = {
            let mut consumer = this.consumer_lock.lock();
            let token = &mut *consumer;
            drop(consumer);
            this.fast_buf_get(token)
        };
        let Some(sample) = sample else { break };
        let mut writer = this.producer_lock.lock();
        // LESSON lock-inversion: `consumer_lock` taken inside `producer_lock`.
        #[cfg(lesson = "lock-inversion")]
        let _consumer = this.consumer_lock.lock();
        // LESSON fifo-writer-clone: a second right to write `rx_fifo`, for the top half.
        #[cfg(lesson = "fifo-writer-clone")]
        let _top_half_writer = writer.data.clone();
        this.produce_data(&mut writer, sample);
        moved += 1;
    }
    if moved == 0 {
        this.stats.work_found_nothing();
    }
    this.report_losses(false);
    // LESSON lost-wakeup: the bytes are in `rx_fifo`, but nobody is told.
    #[cfg(not(lesson = "lost-wakeup"))]
    this.rx_wait.wake_up_interruptible();
    if moved == FAST_BUF_SIZE && !this.fast_buf.is_empty() {
        let _ = this.workqueue.enqueue::<Arc<Simrupt>, WORK>(this.into());
    }
    trace!(
        "[CPU#%u] simrupt_work_func moved %u bytes: %llu ns\n",
        cpu => u32,
        moved as u32 => u32,
        now_ns().saturating_sub(start) => u64
    );
    true
}

/// The work item's lessons: none in this build.
#[cfg(not(any(
    lesson = "guard-after-unlock",
    lesson = "fifo-writer-clone",
    lesson = "lock-inversion",
    lesson = "unbounded-drain",
    lesson = "lost-wakeup"
)))]
pub(crate) fn simrupt_work_func(_this: ArcBorrow<'_, Simrupt>) -> bool {
    false
}

// --- read(): waiting for data -------------------------------------------------------

/// The reader's lessons; `true` if the lesson's wait ran instead of the real one.
///
/// LESSON lost-wakeup, unbounded-drain: sleep uninterruptibly, so that the
/// hung-task detector (which ignores interruptible sleepers) reports a
/// reader nobody wakes.
#[cfg(any(lesson = "lost-wakeup", lesson = "unbounded-drain"))]
pub(crate) fn read_wait(this: &Simrupt) -> bool {
    this.rx_wait
        .wait_uninterruptible_until(|| !this.rx_fifo.is_empty());
    true
}

/// The reader's lessons: none in this build.
#[cfg(not(any(lesson = "lost-wakeup", lesson = "unbounded-drain")))]
pub(crate) fn read_wait(_this: &Simrupt) -> bool {
    false
}

// --- Open and close: `open`, `start`, `stop` -----------------------------------------

/// The `open` lesson: allocates a per-open record and loses it (`leak`).
///
/// LESSON leak: `KBox::into_raw` turns the owning box into a bare pointer,
/// which nothing frees; the pointer is then dropped too.
#[cfg(lesson = "leak")]
pub(crate) fn open() -> kernel::error::Result {
    use kernel::prelude::*;
    let record = KBox::new([0x5au8; 200], GFP_KERNEL)?;
    let _lost = KBox::into_raw(record);
    Ok(())
}

/// The `open` lessons: none in this build.
#[cfg(not(lesson = "leak"))]
pub(crate) fn open() -> kernel::error::Result {
    Ok(())
}

/// The `start` lesson: the real `start`, but the hrtimer's handle is thrown away (`no-teardown`).
#[cfg(lesson = "no-teardown")]
pub(crate) fn start(this: ArcBorrow<'_, Simrupt>) -> Option<crate::Running> {
    use crate::{kapi::tasklet::Tasklet, kapi::timer_list::TimerList, period_ns};
    use crate::{BottomHalfKind, Running, TimerKind, DELAY};
    let bottom_half =
        (this.bottom_half == BottomHalfKind::Tasklet).then(|| Tasklet::enable(this.into()));
    let hr = this.timer_kind == TimerKind::HrTimer;
    Some(Running {
        // LESSON no-teardown: the timer's handle is thrown away; nothing will cancel it.
        _hrtimer: hr.then(|| start_and_forget(this, period_ns())).flatten(),
        _timer_list: (!hr).then(|| TimerList::start(this.into(), DELAY.get())),
        _tasklet: bottom_half,
    })
}

/// The `start` lessons: none in this build.
#[cfg(not(lesson = "no-teardown"))]
pub(crate) fn start(_this: ArcBorrow<'_, Simrupt>) -> Option<crate::Running> {
    None
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
    use crate::kapi::hrtimer::HrTimer;
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

/// The `stop` lesson: `producer_lock` taken inside `consumer_lock` (`lock-inversion`).
///
/// LESSON lock-inversion: `simrupt_work_func` (its lesson version above)
/// nests the two the other way round.
#[cfg(lesson = "lock-inversion")]
pub(crate) fn stop(this: &Simrupt) {
    let mut consumer = this.consumer_lock.lock();
    let _writer = this.producer_lock.lock();
    this.fast_buf_clear(&mut consumer);
}

/// The `stop` lessons: none in this build.
#[cfg(not(lesson = "lock-inversion"))]
pub(crate) fn stop(_this: &Simrupt) {}
