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
//! - a kfifo's `len()` on another CPU, racing a writer and a reader, never
//!   reports more than was queued (the gap between its two reads is widened
//!   on purpose, see `kapi::kfifo::selftest`);
//! - a tasklet cannot run without a handle, runs with one, and not after the
//!   last handle is gone;
//! - a `schedule` on another CPU that saw the last handle, racing that
//!   handle's drop, never queues the tasklet after the drop's
//!   `tasklet_kill()` returned (the race window is widened on purpose, see
//!   `kapi::tasklet::selftest`);
//! - dropping a timer's handle stops the timer (hrtimer and `timer_list`);
//! - an `Arc` made from a timer callback's `ArcRef` points to the owner and
//!   keeps it alive after every other `Arc` is gone;
//! - simrupt's timer of the kind not chosen at load time (started, as any
//!   code may) runs but produces nothing: the gate in its callback;
//! - `context::Here` answers as each question asked alone would, in process
//!   context, with interrupts off, in a tasklet, and in an IPI on another
//!   CPU (which may have interrupted a softirq there);
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
//! Before that, `simrupt_test kapi-nonblock` checks `File::is_nonblocking`:
//! a blocking `read` of the test device spins until the file turns
//! non-blocking, which another process sharing the file does with
//! `fcntl(F_SETFL)`; the `read` must see it (`EAGAIN`), not spin out (0).

use crate::kapi::{
    chrdev::{self, CharDevice, DeviceSlot, File, PollTable, UserBuf},
    context::{self, Here},
    debugfs::{self, DebugFile, SeqWriter},
    hrtimer::{HrTimer, HrTimerHandler, Restart},
    impl_embeds,
    kfifo::{self, Kfifo},
    tasklet::{self, Tasklet, TaskletHandler},
    timer_list::{new_timer_list, TimerList, TimerListHandler},
    waitqueue::{new_waitqueue, WaitQueue},
    ArcRef,
};
use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use kernel::{
    bindings,
    error::code::{EAGAIN, EBUSY, EINVAL},
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
    unsafe fn on_hrtimer(this: ArcRef<'_, Self>) -> Restart {
        this.hr_runs.fetch_add(1, Ordering::Relaxed);
        Restart::AfterNs(1_000_000)
    }
}

impl TimerListHandler for Probe {
    unsafe fn on_timer_list(this: ArcRef<'_, Self>) -> Option<u32> {
        this.timer_runs.fetch_add(1, Ordering::Relaxed);
        Some(1)
    }
}

impl TaskletHandler for Probe {
    fn on_tasklet(this: ArcBorrow<'_, Self>) {
        TASKLET_HERE_FLAGS.store(here_flags(Here::now()) | 8, Ordering::SeqCst);
        this.tasklet_runs.fetch_add(1, Ordering::Relaxed);
    }
}

/// The owner of an hrtimer whose callback keeps an `Arc` made from its `ArcRef`.
#[pin_data]
struct Stashing {
    #[pin]
    hrtimer: HrTimer<Stashing>,
    _note: StashingDropped,
}

impl_embeds!(Stashing { hrtimer: HrTimer<Stashing> });

/// The `Arc` a [`Stashing`]'s callback made from its `ArcRef`, as `Arc::into_raw` gives it (null: none yet).
static STASH: AtomicPtr<Stashing> = AtomicPtr::new(core::ptr::null_mut());
/// Set when a [`Stashing`] is dropped.
static STASHING_DROPPED: AtomicBool = AtomicBool::new(false);

/// Sets [`STASHING_DROPPED`] when the [`Stashing`] that owns it is dropped.
struct StashingDropped;

impl Drop for StashingDropped {
    fn drop(&mut self) {
        STASHING_DROPPED.store(true, Ordering::SeqCst);
    }
}

impl HrTimerHandler for Stashing {
    unsafe fn on_hrtimer(this: ArcRef<'_, Self>) -> Restart {
        let arc: Arc<Self> = this.into();
        STASH.store(Arc::into_raw(arc).cast_mut(), Ordering::SeqCst);
        Restart::No
    }
}

/// `Arc::from(ArcRef)` in a timer callback gives an `Arc` to the same owner
/// that keeps it alive on its own: after the timer's handle and every other
/// `Arc` are gone, the owner lives until that one is dropped, and is freed then.
fn arcref_checks() {
    const NAME: &str = "arcref-into-arc-keeps-owner";
    let Ok(owner) = Arc::pin_init(
        pin_init!(Stashing {
            hrtimer <- HrTimer::new(),
            _note: StashingDropped,
        }),
        GFP_KERNEL,
    ) else {
        return report(NAME, false, "allocation failed");
    };
    let addr = core::ptr::from_ref::<Stashing>(&owner);
    let handle = HrTimer::start(owner, 1_000_000);
    // Its first expiry is 1 ms away: at most about half a second, for a slow, busy machine.
    for _ in 0..50 {
        if !STASH.load(Ordering::SeqCst).is_null() {
            break;
        }
        sleep_ms(10);
    }
    // The handle held the last `Arc` but the callback's.
    drop(handle);
    let alive = !STASHING_DROPPED.load(Ordering::SeqCst);
    let stashed = STASH.swap(core::ptr::null_mut(), Ordering::SeqCst);
    let same = core::ptr::eq(stashed, addr);
    if alive && same {
        // SAFETY: `stashed` came from `Arc::into_raw` in the callback, and
        // is taken out of `STASH` once.
        drop(unsafe { Arc::from_raw(stashed) });
    }
    // Otherwise it is leaked (kmemleak reports it): with no `Arc` of its own
    // or one to another object, dropping it could free what is not ours.
    report(
        NAME,
        alive && same && STASHING_DROPPED.load(Ordering::SeqCst),
        "the callback's Arc did not keep its owner alive, was another object, or was never dropped",
    );
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

/// Set by [`ipi_kfifo_len`] to the length it read, plus one (0: not done).
static IPI_LEN: AtomicUsize = AtomicUsize::new(0);

/// Runs on another CPU, in hard-IRQ context (an IPI): reads a kfifo's length.
///
/// # Safety
///
/// `info` points to a live `Kfifo<u8>` until [`IPI_LEN`] is set.
unsafe extern "C" fn ipi_kfifo_len(info: *mut core::ffi::c_void) {
    // SAFETY: The caller keeps the fifo alive until `IPI_LEN` is set.
    let fifo = unsafe { &*info.cast::<Kfifo<u8>>() };
    IPI_LEN.store(fifo.len() + 1, Ordering::SeqCst);
}

/// `len()` racing a writer and a reader never reports more than was queued.
///
/// Each round queues one byte, has another CPU call `len()` (which, having
/// read one index, waits 5 ms in the widened window), and meanwhile adds two
/// bytes and takes all three: at most 3 were ever queued, so `len()` must
/// say at most 3. Read in the other order (`in` first), the reader has gone
/// past the `in` that was read, the difference wraps, and `len()` reports
/// the whole fifo.
fn kfifo_len_race_checks() {
    const NAME: &str = "kfifo-len-racing-reader-and-writer";
    let Ok((fifo, mut w, mut r)) = Kfifo::<u8>::alloc(16) else {
        return report(NAME, false, "allocation failed");
    };
    let (mut raced, mut wrong, mut worst) = (0, 0, 0);
    kfifo::selftest::WINDOW
        .ns
        .store(5_000_000, Ordering::SeqCst);
    for _ in 0..10 {
        fifo.put(&mut w, 1);
        kfifo::selftest::WINDOW
            .entered
            .store(false, Ordering::SeqCst);
        IPI_LEN.store(0, Ordering::SeqCst);
        let other = (crate::kapi::context::cpu() + 1) % crate::kapi::context::nr_cpu_ids();
        let info = core::ptr::from_ref::<Kfifo<u8>>(&fifo).cast_mut().cast();
        // SAFETY: `ipi_kfifo_len` matches `smp_call_func_t`; `info` is the
        // fifo, which lives until `IPI_LEN` is set (below: if it never is,
        // the fifo is leaked rather than freed).
        let rc = unsafe {
            bindings::smp_call_function_single(
                other as c_int,
                Some(ipi_kfifo_len),
                info,
                Default::default(),
            )
        };
        if rc != 0 {
            while fifo.get(&mut r).is_some() {}
            continue;
        }
        // A round counts if the other CPU is between its two reads while
        // this one writes and reads (the IPI may also have run on this CPU,
        // if the test moved there: then it is over before).
        let in_window = spin_until(&kfifo::selftest::WINDOW.entered, 100)
            && IPI_LEN.load(Ordering::SeqCst) == 0;
        fifo.put(&mut w, 2);
        fifo.put(&mut w, 3);
        while fifo.get(&mut r).is_some() {}
        let start = crate::now_ns();
        while IPI_LEN.load(Ordering::SeqCst) == 0 {
            if crate::now_ns().wrapping_sub(start) > 1_000_000_000 {
                kfifo::selftest::WINDOW.ns.store(0, Ordering::SeqCst);
                core::mem::forget(fifo);
                return report(NAME, false, "the other CPU's len() never returned");
            }
            core::hint::spin_loop();
        }
        let len = IPI_LEN.load(Ordering::SeqCst) - 1;
        if in_window {
            raced += 1;
        }
        worst = worst.max(len);
        if len > 3 {
            wrong += 1;
        }
    }
    kfifo::selftest::WINDOW.ns.store(0, Ordering::SeqCst);
    pr_info!(
        "kapi-selftest: # {}: {} of 10 rounds raced, {} wrong, largest len {}\n",
        NAME,
        raced,
        wrong,
        worst
    );
    report(
        NAME,
        raced > 0 && wrong == 0,
        "len() reported more than was ever queued, or no round raced",
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

/// Set by [`ipi_schedule`] when its `schedule` has returned.
static IPI_DONE: AtomicBool = AtomicBool::new(false);

/// Runs on another CPU, in hard-IRQ context (an IPI): schedules the probe's tasklet.
///
/// # Safety
///
/// `info` points to a live [`Probe`] until [`IPI_DONE`] is set.
unsafe extern "C" fn ipi_schedule(info: *mut core::ffi::c_void) {
    // SAFETY: The caller keeps the probe alive until `IPI_DONE` is set.
    let probe = unsafe { &*info.cast::<Probe>() };
    probe.tasklet.schedule();
    IPI_DONE.store(true, Ordering::SeqCst);
}

/// Spins until `flag` is set or `ms` milliseconds have passed; true if it was set.
fn spin_until(flag: &AtomicBool, ms: u64) -> bool {
    let start = crate::now_ns();
    while !flag.load(Ordering::SeqCst) {
        if crate::now_ns().wrapping_sub(start) > ms * 1_000_000 {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// A `schedule` racing the last handle's drop never queues after `tasklet_kill()`.
///
/// Each round enables the tasklet, has another CPU call `schedule` (which,
/// having seen the handle, waits 5 ms in the widened window), drops the
/// handle meanwhile, and then checks that the tasklet does not run after
/// the drop returned: the drop must wait for the `schedule` in progress and
/// kill the tasklet it queued. Without the handshake (a drop that kills at
/// once), the tasklet is queued after the kill and runs late.
fn tasklet_race_checks() {
    const NAME: &str = "tasklet-schedule-racing-last-drop";
    let probe = match Arc::pin_init(
        pin_init!(Probe {
            hrtimer <- HrTimer::new(),
            timer <- new_timer_list!(c"kapi_selftest::race_timer"),
            tasklet <- Tasklet::new(),
            hr_runs: AtomicU32::new(0),
            timer_runs: AtomicU32::new(0),
            tasklet_runs: AtomicU32::new(0),
        }),
        GFP_KERNEL,
    ) {
        Ok(p) => p,
        Err(_) => return report(NAME, false, "allocation failed"),
    };
    let (mut raced, mut late) = (0, 0);
    tasklet::selftest::WINDOW
        .ns
        .store(5_000_000, Ordering::SeqCst);
    for _ in 0..10 {
        let handle = Tasklet::enable(probe.clone());
        tasklet::selftest::WINDOW
            .entered
            .store(false, Ordering::SeqCst);
        IPI_DONE.store(false, Ordering::SeqCst);
        let other = (crate::kapi::context::cpu() + 1) % crate::kapi::context::nr_cpu_ids();
        let info = core::ptr::from_ref::<Probe>(&probe).cast_mut().cast();
        // The last argument, `wait`, is "no" (a `c_int` 0 on 6.12, a `bool` on 7.3).
        let no_wait = Default::default();
        // SAFETY: `ipi_schedule` matches `smp_call_func_t`; `info` is the
        // probe, which `probe` keeps alive until `IPI_DONE` (below: if it
        // never comes, the probe is leaked rather than freed).
        let rc = unsafe {
            bindings::smp_call_function_single(other as c_int, Some(ipi_schedule), info, no_wait)
        };
        if rc != 0 {
            drop(handle);
            continue;
        }
        // A round counts if the other CPU's `schedule` is in its window
        // when the drop starts (the IPI may also have run on this CPU, if
        // the test moved there: then it is over before the drop).
        if spin_until(&tasklet::selftest::WINDOW.entered, 100) && !IPI_DONE.load(Ordering::SeqCst) {
            raced += 1;
        }
        drop(handle);
        let runs_at_kill = probe.tasklet_runs.load(Ordering::SeqCst);
        if !spin_until(&IPI_DONE, 1000) {
            core::mem::forget(probe.clone());
            tasklet::selftest::WINDOW.ns.store(0, Ordering::SeqCst);
            return report(NAME, false, "the other CPU's schedule never returned");
        }
        // A tasklet queued after the kill would run within this.
        sleep_ms(20);
        if probe.tasklet_runs.load(Ordering::SeqCst) != runs_at_kill {
            late += 1;
        }
    }
    tasklet::selftest::WINDOW.ns.store(0, Ordering::SeqCst);
    pr_info!(
        "kapi-selftest: # {}: {} of 10 rounds raced, {} late\n",
        NAME,
        raced,
        late
    );
    report(
        NAME,
        raced > 0 && late == 0,
        "the tasklet ran after its last handle was dropped, or no round raced",
    );
}

/// What [`ipi_here`] saw: the CPU number, and [`here_flags`] plus 8 (it ran).
static IPI_HERE_CPU: AtomicU32 = AtomicU32::new(0);
static IPI_HERE_FLAGS: AtomicU32 = AtomicU32::new(0);

/// What a [`Probe`]'s tasklet (a softirq) last saw: [`here_flags`] plus 8.
static TASKLET_HERE_FLAGS: AtomicU32 = AtomicU32::new(0);

/// A [`Here`]'s three flags as bits: 1 hard IRQ, 2 softirq, 4 interrupts off.
fn here_flags(here: Here) -> u32 {
    u32::from(here.in_hardirq())
        | u32::from(here.in_serving_softirq()) << 1
        | u32::from(here.irqs_disabled()) << 2
}

/// Runs in an IPI (hard-IRQ context, interrupts off) on the CPU it was sent to.
///
/// # Safety
///
/// Only `smp_call_function_single` calls it; it uses no `info`.
unsafe extern "C" fn ipi_here(_info: *mut core::ffi::c_void) {
    let here = Here::now();
    IPI_HERE_CPU.store(here.cpu(), Ordering::SeqCst);
    IPI_HERE_FLAGS.store(here_flags(here) | 8, Ordering::SeqCst);
}

/// `context::Here` (one call into C, its answers packed in bits) answers as
/// each question asked alone would: in process context nothing is set; with
/// interrupts disabled, only that; in a tasklet (run by the earlier checks),
/// only "softirq"; in an IPI sent to another CPU, hard IRQ and interrupts
/// off, and the CPU number is that CPU's.
///
/// The IPI may interrupt a softirq running on that CPU: then "softirq" is
/// rightly set too (C's `in_serving_softirq()` stays true in a hard IRQ
/// nested in one). The check retries for an IPI without it and, after three
/// tries, accepts one with it; the tasklet checks that bit on its own.
fn context_checks() {
    const NAME: &str = "context-here-flags-and-cpu";
    const IPI: u32 = 1 | 4 | 8;
    let task = here_flags(Here::now());
    let off = here_flags(context::with_irqs_disabled(Here::now));
    let tasklet = TASKLET_HERE_FLAGS.load(Ordering::SeqCst);
    // The IPI runs here, not in hard IRQ, if this task moved to `other`
    // before sending it: up to three tries.
    let mut ipi = (0, 0, 0);
    for _ in 0..3 {
        let other = (context::cpu() + 1) % context::nr_cpu_ids();
        IPI_HERE_FLAGS.store(0, Ordering::SeqCst);
        #[allow(clippy::useless_conversion)] // `wait` is a `bool` already on 7.3
        // SAFETY: `ipi_here` matches `smp_call_func_t` and uses no `info`;
        // `wait` (a `c_int` on 6.12, a `bool` on 7.3) is "yes": it has run
        // when this returns.
        let rc = unsafe {
            bindings::smp_call_function_single(
                other as c_int,
                Some(ipi_here),
                core::ptr::null_mut(),
                true.into(),
            )
        };
        ipi = (
            other,
            IPI_HERE_CPU.load(Ordering::SeqCst),
            IPI_HERE_FLAGS.load(Ordering::SeqCst),
        );
        if rc == 0 && ipi.2 == IPI && ipi.0 == ipi.1 {
            break;
        }
    }
    pr_info!(
        "kapi-selftest: # {}: task {}, irqs off {}, tasklet {}, IPI to CPU {}: CPU {} flags {}\n",
        NAME,
        task,
        off,
        tasklet,
        ipi.0,
        ipi.1,
        ipi.2
    );
    report(
        NAME,
        task == 0 && off == 4 && tasklet == (2 | 8) && ipi.2 & !2 == IPI && ipi.0 == ipi.1,
        "a flag or the CPU number differs from the context it was asked in",
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

    /// A non-blocking file reads the text; a blocking one waits for the file
    /// to turn non-blocking (`simrupt_test kapi-nonblock`), see [`wait_nonblocking`].
    fn read(&self, file: &File, buf: UserBuf, len: usize) -> Result<usize> {
        if !file.is_nonblocking() {
            return if wait_nonblocking(file) {
                Err(EAGAIN)
            } else {
                Ok(0)
            };
        }
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

/// Spins until `file` turns non-blocking; false if it never does (about a second).
///
/// The loop does nothing but call [`File::is_nonblocking`]: no call, no other
/// memory access, not even a `spin_loop()` hint (LLVM treats its `pause` as
/// a side effect), so the compiler may hoist a plain load of `f_flags` out
/// of it: read once, it would never see `fcntl(F_SETFL)` from another task.
/// `is_nonblocking`'s volatile load (C's `READ_ONCE()`) reads memory at
/// every call. Process context, preemptible: spinning here blocks nobody.
#[inline(never)]
fn wait_nonblocking(file: &File) -> bool {
    let mut spins = 0u32;
    loop {
        if file.is_nonblocking() {
            return true;
        }
        spins += 1;
        if spins == 400_000_000 {
            return false;
        }
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

/// Runs every check; `dup` tries a second registration of the device slot,
/// `timer_kind_gate` runs simrupt's timer of the other kind and names the
/// check after that gate (see `Simrupt::selftest_timer_kind_gate`: a load
/// with `timer=hrtimer` runs the `timer_list`'s gate, a load with
/// `timer=timer_list` the hrtimer's; tests/guest/kapi.sh loads both ways).
///
/// Returns the teardown test's control directory (see the module docs),
/// which the module keeps until it is unloaded.
pub(crate) fn run(
    dup: impl FnOnce() -> Result,
    timer_kind_gate: impl FnOnce() -> (&'static str, u32, bool),
) -> Option<debugfs::Dir> {
    kfifo_checks();
    probe_checks();
    arcref_checks();
    tasklet_race_checks();
    kfifo_len_race_checks();
    context_checks();
    debugfs_checks();
    report(
        "device-slot-second-registration-refused",
        matches!(dup(), Err(e) if e == EBUSY),
        "a second registration of the same slot was not refused with EBUSY",
    );
    let (name, refused, produced_nothing) = timer_kind_gate();
    report(
        name,
        refused > 0 && produced_nothing,
        "the timer of the kind not chosen at load did not run, or produced bytes",
    );
    let ctl = teardown_setup();
    pr_info!("kapi-selftest: done\n");
    ctl
}
