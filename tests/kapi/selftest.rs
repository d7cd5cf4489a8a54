// SPDX-License-Identifier: GPL-2.0

//! In-kernel self-tests of `kapi/`'s soundness rules, for a test build only.
//!
//! `tests/kapi/run.sh` builds the module with `--cfg kapi_selftest`, which
//! compiles this file in and runs [`run`] at load time, in process context.
//! Each check logs `kapi-selftest: ok NAME` or `kapi-selftest: FAIL NAME: why`;
//! the normal `simrupt.ko` contains none of this.
//!
//! What is checked, in a real kernel:
//! - a kfifo has exactly the capacity asked for (the `rx_times` bug), and a
//!   size kfifo would round is refused;
//! - a kfifo token used with another fifo does nothing;
//! - a tasklet cannot run without a handle, runs with one, and not after the
//!   last handle is gone;
//! - dropping a timer's handle stops the timer (hrtimer and `timer_list`);
//! - a debugfs file keeps its data alive until the directory is removed;
//! - a second registration of the same device slot is refused.

use crate::kapi::{
    debugfs::{self, DebugFile, SeqWriter},
    hrtimer::{HrTimer, HrTimerHandler, Restart},
    impl_embeds,
    kfifo::Kfifo,
    tasklet::{Tasklet, TaskletHandler},
    timer_list::{new_timer_list, TimerList, TimerListHandler},
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    bindings,
    error::code::{EBUSY, EINVAL},
    prelude::*,
    sync::{Arc, ArcBorrow},
};

fn report(name: &str, ok: bool, why: &str) {
    if ok {
        pr_info!("kapi-selftest: ok {}\n", name);
    } else {
        pr_err!("kapi-selftest: FAIL {}: {}\n", name, why);
    }
}

fn sleep_ms(ms: u32) {
    // SAFETY: `msleep` may be called from process context, where `run` is.
    unsafe { bindings::msleep(ms) };
}

/// The owner of one timer of each kind and a tasklet, counting their runs.
#[pin_data]
struct Probe {
    #[pin]
    hrtimer: HrTimer<Probe>,
    #[pin]
    timer: TimerList<Probe>,
    #[pin]
    tasklet: Tasklet<Probe>,
    hr_runs: AtomicU32,
    timer_runs: AtomicU32,
    tasklet_runs: AtomicU32,
}

impl_embeds!(Probe { hrtimer: HrTimer<Probe> });
impl_embeds!(Probe { timer: TimerList<Probe> });
impl_embeds!(Probe { tasklet: Tasklet<Probe> });

impl HrTimerHandler for Probe {
    fn on_hrtimer(this: ArcBorrow<'_, Self>) -> Restart {
        this.hr_runs.fetch_add(1, Ordering::Relaxed);
        Restart::AfterNs(1_000_000)
    }
}

impl TimerListHandler for Probe {
    fn on_timer_list(this: ArcBorrow<'_, Self>) -> Option<u32> {
        this.timer_runs.fetch_add(1, Ordering::Relaxed);
        Some(1)
    }
}

impl TaskletHandler for Probe {
    fn on_tasklet(this: ArcBorrow<'_, Self>) {
        this.tasklet_runs.fetch_add(1, Ordering::Relaxed);
    }
}

/// Set when a [`Kept`] is dropped.
static KEPT_DROPPED: AtomicBool = AtomicBool::new(false);

/// Data of a debugfs file, noting when it is freed.
struct Kept;

impl Drop for Kept {
    fn drop(&mut self) {
        KEPT_DROPPED.store(true, Ordering::Relaxed);
    }
}

impl DebugFile<0> for Kept {
    fn show(&self, out: &mut SeqWriter<'_>) -> core::fmt::Result {
        core::fmt::Write::write_str(out, "kept\n")
    }

    fn write(&self, _text: &[u8]) -> Result {
        Err(EINVAL)
    }
}

fn kfifo_checks() {
    match Kfifo::<u64>::alloc_vmalloc(8192) {
        Ok((fifo, mut w, _r)) => {
            let mut n = 0;
            while n < 10_000 && fifo.put(&mut w, n) {
                n += 1;
            }
            report(
                "kfifo-vmalloc-capacity-exact",
                fifo.capacity() == 8192 && n == 8192,
                "a Kfifo<u64> of 8192 did not hold exactly 8192",
            );
        }
        Err(_) => report("kfifo-vmalloc-capacity-exact", false, "allocation failed"),
    }
    match Kfifo::<u8>::alloc(4096) {
        Ok((fifo, mut w, _r)) => {
            let mut n = 0;
            while n < 10_000 && fifo.put(&mut w, 1) {
                n += 1;
            }
            report(
                "kfifo-capacity-exact",
                fifo.capacity() == 4096 && n == 4096,
                "a Kfifo<u8> of 4096 did not hold exactly 4096",
            );
        }
        Err(_) => report("kfifo-capacity-exact", false, "allocation failed"),
    }
    report(
        "kfifo-refuses-rounded-size",
        matches!(Kfifo::<u8>::alloc(3), Err(e) if e == EINVAL)
            && matches!(Kfifo::<u64>::alloc_vmalloc(1000), Err(e) if e == EINVAL),
        "a size that is not a power of two was accepted",
    );
    match (Kfifo::<u8>::alloc(16), Kfifo::<u8>::alloc(16)) {
        (Ok((a, mut a_in, mut a_out)), Ok((b, _b_in, _b_out))) => {
            let put_other = b.put(&mut a_in, 7);
            let put_own = a.put(&mut a_in, 7);
            let get_other = b.get(&mut a_out);
            report(
                "kfifo-token-of-another-fifo-refused",
                !put_other && b.is_empty() && put_own && get_other.is_none() && a.len() == 1,
                "a token of one fifo worked on another",
            );
        }
        _ => report(
            "kfifo-token-of-another-fifo-refused",
            false,
            "allocation failed",
        ),
    }
}

fn probe_checks() {
    let probe = match Arc::pin_init(
        pin_init!(Probe {
            hrtimer <- HrTimer::new(),
            timer <- new_timer_list!(c"kapi_selftest::timer"),
            tasklet <- Tasklet::new(),
            hr_runs: AtomicU32::new(0),
            timer_runs: AtomicU32::new(0),
            tasklet_runs: AtomicU32::new(0),
        }),
        GFP_KERNEL,
    ) {
        Ok(p) => p,
        Err(_) => return report("probe", false, "allocation failed"),
    };

    // A tasklet without a handle must not run: nothing keeps its owner alive.
    probe.tasklet.schedule();
    sleep_ms(30);
    let without = probe.tasklet_runs.load(Ordering::Relaxed);
    let handle = Tasklet::enable(probe.clone());
    probe.tasklet.schedule();
    sleep_ms(30);
    let with = probe.tasklet_runs.load(Ordering::Relaxed);
    drop(handle);
    probe.tasklet.schedule();
    sleep_ms(30);
    let after = probe.tasklet_runs.load(Ordering::Relaxed);
    report(
        "tasklet-runs-only-with-handle",
        without == 0 && with == 1 && after == 1,
        "a tasklet ran without a handle, or not with one",
    );

    // Dropping a timer's handle cancels it: no run afterwards.
    let handle = HrTimer::start(probe.clone(), 1_000_000);
    sleep_ms(50);
    drop(handle);
    let stopped_at = probe.hr_runs.load(Ordering::Relaxed);
    sleep_ms(50);
    report(
        "hrtimer-handle-drop-cancels",
        stopped_at > 0 && probe.hr_runs.load(Ordering::Relaxed) == stopped_at,
        "the hrtimer did not run, or ran after its handle was dropped",
    );
    let handle = TimerList::start(probe.clone(), 1);
    sleep_ms(100);
    drop(handle);
    let stopped_at = probe.timer_runs.load(Ordering::Relaxed);
    sleep_ms(100);
    report(
        "timer-list-handle-drop-deletes",
        stopped_at > 0 && probe.timer_runs.load(Ordering::Relaxed) == stopped_at,
        "the timer_list did not run, or ran after its handle was dropped",
    );
}

fn debugfs_checks(module: &'static ThisModule) {
    let Ok(kept) = Arc::new(Kept, GFP_KERNEL) else {
        return report("debugfs-file-keeps-data", false, "allocation failed");
    };
    let mut dir = debugfs::Dir::new(c"simrupt_kapi_selftest");
    dir.file::<Kept, 0>(c"kept", 0o444, kept.clone(), module);
    drop(kept);
    let alive_with_dir = !KEPT_DROPPED.load(Ordering::Relaxed);
    drop(dir);
    report(
        "debugfs-file-keeps-data",
        alive_with_dir && KEPT_DROPPED.load(Ordering::Relaxed),
        "the data was freed while its file existed, or never",
    );
}

/// Runs every check; `dup` tries a second registration of the device slot.
pub(crate) fn run(module: &'static ThisModule, dup: impl FnOnce() -> Result) {
    kfifo_checks();
    probe_checks();
    debugfs_checks(module);
    report(
        "device-slot-second-registration-refused",
        matches!(dup(), Err(e) if e == EBUSY),
        "a second registration of the same slot was not refused with EBUSY",
    );
    pr_info!("kapi-selftest: done\n");
}
