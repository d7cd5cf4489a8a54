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
//! - a kfifo token used with another fifo does nothing, and so does one
//!   that outlived its fifo, used with a new fifo (likely at the same address);
//! - a tasklet cannot run without a handle, runs with one, and not after the
//!   last handle is gone;
//! - dropping a timer's handle stops the timer (hrtimer and `timer_list`);
//! - a debugfs file keeps its data alive until the directory is removed, and
//!   a mode with file-type bits is refused (debugfs would `BUG()`);
//! - a second registration of the same device slot is refused.
//!
//! And, driven from user space by `simrupt_test kapi-teardown` (see
//! `tests/guest/kapi.sh`), the teardown cases: [`run`] leaves a test device
//! `/dev/simrupt_kst` and a debugfs file `simrupt_kst/f` registered, and
//! writing to `simrupt_kst_ctl/teardown` drops both while user space holds
//! them open, with `epoll` waiting on the device's wait queue. The open
//! files must keep working (the device) or fail with `EIO` (debugfs), the
//! device must be freed only at the last `close()`, and the log stay clean.

use crate::kapi::{
    chrdev::{self, CharDevice, DeviceSlot, File, PollTable, UserBuf},
    debugfs::{self, DebugFile, SeqWriter},
    hrtimer::{HrTimer, HrTimerHandler, Restart},
    impl_embeds,
    kfifo::Kfifo,
    tasklet::{Tasklet, TaskletHandler},
    timer_list::{new_timer_list, TimerList, TimerListHandler},
    waitqueue::{new_waitqueue, WaitQueue},
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    bindings,
    error::code::{EBUSY, EINVAL},
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
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
    unsafe fn on_hrtimer(this: ArcBorrow<'_, Self>) -> Restart {
        this.hr_runs.fetch_add(1, Ordering::Relaxed);
        Restart::AfterNs(1_000_000)
    }
}

impl TimerListHandler for Probe {
    unsafe fn on_timer_list(this: ArcBorrow<'_, Self>) -> Option<u32> {
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
    // A token that outlived its fifo: the next fifo of the same size most
    // likely gets the freed fifo's memory (the slab hands back the object it
    // just took), so a token naming its fifo by address would match it.
    let mut stale_refused = true;
    for _ in 0..8 {
        let Ok((old, mut old_in, mut old_out)) = Kfifo::<u8>::alloc(16) else {
            return report("kfifo-stale-token-refused", false, "allocation failed");
        };
        drop(old);
        let Ok((new, _new_in, _new_out)) = Kfifo::<u8>::alloc(16) else {
            return report("kfifo-stale-token-refused", false, "allocation failed");
        };
        if new.put(&mut old_in, 1) || new.get(&mut old_out).is_some() || !new.is_empty() {
            stale_refused = false;
        }
    }
    report(
        "kfifo-stale-token-refused",
        stale_refused,
        "a token of a freed fifo worked on a new fifo",
    );
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

fn debugfs_checks() {
    let Ok(kept) = Arc::new(Kept, GFP_KERNEL) else {
        return report("debugfs-file-keeps-data", false, "allocation failed");
    };
    let mut dir = debugfs::Dir::new(c"simrupt_kapi_selftest");
    dir.file::<Kept, 0>(c"kept", 0o444, kept.clone());
    // Type bits in the mode (here a directory's) are refused, with a
    // warning and no file; debugfs itself would `BUG()` on them.
    dir.file::<Kept, 0>(c"not_a_dir", 0o040_755, kept.clone());
    report("debugfs-mode-type-bits-refused", true, "");
    drop(kept);
    let alive_with_dir = !KEPT_DROPPED.load(Ordering::Relaxed);
    drop(dir);
    report(
        "debugfs-file-keeps-data",
        alive_with_dir && KEPT_DROPPED.load(Ordering::Relaxed),
        "the data was freed while its file existed, or never",
    );
}

/// The device of the teardown test: `read` gives its `text`, `poll` is never ready.
#[pin_data]
struct TestDev {
    #[pin]
    queue: WaitQueue,
    /// What `read` returns: read from the device, so a `read` that ran on a
    /// freed or missing device would not return it.
    text: [u8; 4],
    _freed: FreedNote,
}

/// Logs when the [`TestDev`] that owns it is freed.
struct FreedNote;

static TEST_DEV: DeviceSlot<TestDev> = DeviceSlot::new();

impl CharDevice for TestDev {
    fn slot() -> &'static DeviceSlot<Self> {
        &TEST_DEV
    }

    fn open(_this: ArcBorrow<'_, Self>, _file: &File) -> Result {
        Ok(())
    }

    fn release(&self, _file: &File) {}

    fn read(&self, _file: &File, buf: UserBuf, len: usize) -> Result<usize> {
        let text = &self.text;
        let n = len.min(text.len());
        let mut writer =
            kernel::uaccess::UserSlice::new(crate::kapi::compat::user_ptr(buf.as_ptr()), n)
                .writer();
        writer.write_slice(&text[..n])?;
        Ok(n)
    }

    fn poll<'a>(&'a self, _file: &File, table: &PollTable<'a>) -> u32 {
        // `epoll` stays registered on this queue, and waits.
        table.register(&self.queue);
        0
    }
}

impl Drop for FreedNote {
    fn drop(&mut self) {
        // The guest checks that this comes after the last `close()`.
        pr_info!("kapi-selftest: teardown device freed\n");
    }
}

/// What the teardown test drops on request: the test device and a debugfs directory.
#[pin_data]
struct Teardown {
    #[pin]
    held: Mutex<Option<(chrdev::Registration<TestDev>, debugfs::Dir)>>,
}

impl DebugFile<0> for Teardown {
    fn show(&self, out: &mut SeqWriter<'_>) -> core::fmt::Result {
        let armed = self.held.lock().is_some();
        core::fmt::Write::write_str(out, if armed { "armed\n" } else { "dropped\n" })
    }

    /// Any write drops the registration and the directory, once.
    fn write(&self, _text: &[u8]) -> Result {
        let held = self.held.lock().take();
        let found = held.is_some();
        drop(held);
        pr_info!("kapi-selftest: teardown dropped={}\n", found);
        Ok(())
    }
}

/// Registers the teardown test's device and debugfs file, and the control
/// file that drops them; returns the control directory, to keep until unload.
fn teardown_setup() -> Option<debugfs::Dir> {
    let dev = match Arc::pin_init(
        pin_init!(TestDev {
            queue <- new_waitqueue!(c"kapi_selftest::queue"),
            text: *b"kst\n",
            _freed: FreedNote,
        }),
        GFP_KERNEL,
    ) {
        Ok(dev) => dev,
        Err(_) => {
            report("teardown-setup", false, "allocation failed");
            return None;
        }
    };
    let reg = match chrdev::Registration::new(c"simrupt_kst", dev) {
        Ok(reg) => reg,
        Err(_) => {
            report("teardown-setup", false, "registration failed");
            return None;
        }
    };
    let Ok(kept) = Arc::new(Kept, GFP_KERNEL) else {
        report("teardown-setup", false, "allocation failed");
        return None;
    };
    let mut dir = debugfs::Dir::new(c"simrupt_kst");
    dir.file::<Kept, 0>(c"f", 0o444, kept);
    let control = match Arc::pin_init(
        pin_init!(Teardown {
            held <- new_mutex!(Some((reg, dir)), "kapi_selftest::teardown"),
        }),
        GFP_KERNEL,
    ) {
        Ok(control) => control,
        Err(_) => {
            report("teardown-setup", false, "allocation failed");
            return None;
        }
    };
    let mut ctl = debugfs::Dir::new(c"simrupt_kst_ctl");
    ctl.file::<Teardown, 0>(c"teardown", 0o600, control);
    report("teardown-setup", true, "");
    Some(ctl)
}

/// Runs every check; `dup` tries a second registration of the device slot.
///
/// Returns the teardown test's control directory (see the module docs),
/// which the module keeps until it is unloaded.
pub(crate) fn run(dup: impl FnOnce() -> Result) -> Option<debugfs::Dir> {
    kfifo_checks();
    probe_checks();
    debugfs_checks();
    report(
        "device-slot-second-registration-refused",
        matches!(dup(), Err(e) if e == EBUSY),
        "a second registration of the same slot was not refused with EBUSY",
    );
    let ctl = teardown_setup();
    pr_info!("kapi-selftest: done\n");
    ctl
}
