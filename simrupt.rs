// SPDX-License-Identifier: GPL-2.0

//! simrupt: a simulated device that raises interrupts, and the deferred work that serves it.
//!
//! A Rust rewrite of the C teaching module `simrupt` (sysprog21), as told in
//! the Linux Kernel Module Programming Guide. There is no hardware: a timer
//! plays the device's interrupt, and each "interrupt" produces one byte of a
//! cyclic sequence (`' '` 0x20 up to `'~'` 0x7e, then `' '` again) that user
//! space reads from `/dev/simrupt`.
//!
//! # The pipeline
//!
//! ```text
//!  HARD IRQ (hrtimer, irqs off)   SOFTIRQ                    PROCESS (kworker)            PROCESS (reader)
//!  may not sleep or lock a mutex  may not sleep              may sleep                    may sleep
//!
//!  timer_handler()                simrupt_tasklet_func()     simrupt_work_func()          read()
//!    produce_data ─► fast_buf ───────────────────────────────► drain fast_buf ─► rx_fifo ─► kfifo_to_user()
//!    (lock-free SPSC ring)        queue_work(simruptd) ─────►  under consumer_lock /        under read_lock,
//!    schedule bottom half ──────► (tasklet, or work on          producer_lock                sleeps on rx_wait
//!                                  system_bh_wq)               wake_up(rx_wait) ─────────► wakes
//! ```
//!
//! * **Top half** ([`Simrupt::timer_handler`]): an `hrtimer` in hard-IRQ mode
//!   (default), or, as in the C original, a `timer_list` whose softirq callback
//!   disables interrupts to pretend. It must be short: it puts one byte in
//!   `fast_buf` and schedules the bottom half. No sleeping, no allocation, no mutex.
//! * **`fast_buf`** ([`fastbuf::FastBuf`]): a 4096-entry (as C's one-page
//!   buffer of bytes), power-of-two, single-producer/single-consumer ring with
//!   acquire/release indices; each entry is a byte and its production time. The top
//!   half is its only producer; the work item, under `consumer_lock`, its only consumer.
//! * **Bottom half** ([`Simrupt::simrupt_tasklet_func`]): a tasklet (default),
//!   or a work item on the BH workqueue `system_bh_wq`, the modern replacement.
//!   Softirq context: it may not sleep. It queues the work item.
//! * **Work** ([`Simrupt::simrupt_work_func`]): on the module's own unbound
//!   workqueue `simruptd`, in process context. It moves the bytes from
//!   `fast_buf` into `rx_fifo` (a kfifo) and wakes the readers.
//! * **`/dev/simrupt`** ([`Simrupt::read`]): `read` blocks on the wait queue
//!   `rx_wait` until `rx_fifo` has data, then copies it straight to user memory.
//!   The first `open` starts the timer, the last `close` stops the whole pipeline.
//!
//! The top half, the bottom half and the work item each check at run time
//! that they run in the context they claim ([`kapi::context::check_context!`])
//! and, with the `trace` parameter on, log the C original's trace lines, with
//! real units (nanoseconds). `read()` neither checks nor logs.
//!
//! # Measuring it
//!
//! `/sys/kernel/debug/simrupt/stats` counts events, losses, and which CPU ran
//! each stage; `/sys/kernel/debug/simrupt/latency` shows log2 histograms of
//! the time spent in the top half and between the stages, down to the moment
//! `read()` copies each byte (its production time travels with it, through
//! `fast_buf` and the `rx_times` fifo). See [`stats`]. With `period_us` and
//! `burst` the pipeline can be pushed until something overflows.
//!
//! # Losing nothing silently
//!
//! A byte is either delivered to a reader, still queued, or counted as lost:
//! dropped because `fast_buf` was full, or overwritten because `rx_fifo` was
//! full (the oldest byte makes room, as in C). Both losses log a rate-limited
//! warning from process context.

// `pin_init!` of a struct with this many fields nests its macros deeply.
#![recursion_limit = "256"]

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use kernel::{
    alloc::VBox,
    bindings,
    error::code::{EAGAIN, EINVAL},
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};

// `make bench` only: the top half's step times (BENCH_VARIANT=steps).
#[cfg(bench_variant = "steps")]
mod bench_steps;
/// `step!(n)`: a step time of `make bench`'s `steps` build; nothing otherwise.
macro_rules! step {
    ($n:expr) => {
        #[cfg(bench_variant = "steps")]
        crate::bench_steps::stamp($n);
    };
}
mod fastbuf;
mod histogram;
mod kapi;
mod stats;

// Test builds only (`tests/kapi/run.sh`): kapi's self-tests, and misuses of
// kapi that must not compile. The normal build compiles neither.
#[cfg(kapi_compile_fail)]
#[path = "tests/kapi/compile_fail.rs"]
mod kapi_compile_fail;
#[cfg(kapi_selftest)]
#[path = "tests/kapi/selftest.rs"]
mod kapi_selftest;

use fastbuf::FastBuf;
use kapi::{
    chrdev::{self, CharDevice, DeviceSlot, File, PollTable, UserBuf, EPOLLIN, EPOLLRDNORM},
    context::{self, check_context},
    debugfs,
    hrtimer::{HrTimer, HrTimerHandle, HrTimerHandler, Restart},
    impl_embeds,
    kfifo::{Kfifo, KfifoIn, KfifoOut},
    mutex::{new_interruptible_mutex, InterruptibleMutex},
    param::{module_param, BoolParam, ChoiceParam, ParamValue, U32Param},
    tasklet::{Tasklet, TaskletHandle, TaskletHandler},
    timer_list::{new_timer_list, TimerList, TimerListHandle, TimerListHandler},
    waitqueue::{new_waitqueue, WaitQueue},
    wq::{self, OwnedQueue},
    ArcRef,
};
use stats::Stats;

kapi::compat::module_with_author! {
    type: SimruptModule,
    name: "simrupt",
    author: "simrupt developers",
    description: "A simulated interrupt source: top half, bottom half, workqueue, kfifo, /dev/simrupt",
    license: "GPL",
}

// --- Module parameters (/sys/module/simrupt/parameters/) ----------------------

/// Period of the simulated interrupt, in milliseconds (C: `delay`).
static DELAY: U32Param = U32Param::new(100, 1, 10_000);
module_param!(
    DELAY,
    "delay",
    0o644,
    "Period of the simulated interrupt in ms, 1-10000 (default 100); a change applies at the next tick"
);

/// Which timer plays the top half.
static TIMER: ChoiceParam =
    ChoiceParam::new(&["hrtimer", "timer_list"], "expected hrtimer or timer_list");
module_param!(
    TIMER,
    "timer",
    0o444,
    "Top half: hrtimer (hard IRQ, default) or timer_list (softirq with IRQs disabled, as in C)"
);

/// Which mechanism plays the bottom half.
static BOTTOM_HALF: ChoiceParam =
    ChoiceParam::new(&["tasklet", "bh_wq"], "expected tasklet or bh_wq");
module_param!(
    BOTTOM_HALF,
    "bottom_half",
    0o444,
    "Bottom half: tasklet (default) or bh_wq (work on system_bh_wq, Linux 6.9+)"
);

/// A finer period for the hrtimer, in microseconds; 0 means "use `delay`".
static PERIOD_US: PeriodUs = PeriodUs(U32Param::new_or_zero(0, 10, 1_000_000));
module_param!(
    PERIOD_US,
    "period_us",
    0o644,
    "Period in microseconds, 10-1000000, overriding delay; 0 = use delay (default). hrtimer only; below 1000 needs trace=0"
);

/// `period_us` only means something for the hrtimer: refuse it with timer_list.
struct PeriodUs(U32Param);

impl ParamValue for PeriodUs {
    /// Parses first, then validates the number: `0`, `00` and `0x0` are all 0.
    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str> {
        let us = self.0.parse(text)?;
        if TIMER.index() != 0 && us != 0 {
            return Err("period_us needs timer=hrtimer (timer_list counts in jiffies)");
        }
        // At load time the parameters come in any order: `init` checks this.
        if LOADED.load(Ordering::Relaxed) && TRACE.get() && too_fast_to_trace(us) {
            return Err(TOO_FAST_TO_TRACE);
        }
        self.0.store(us);
        Ok(())
    }

    fn get(&self, out: &mut kapi::param::Writer<'_>) {
        ParamValue::get(&self.0, out);
    }
}

/// Bytes produced per tick; at most what `fast_buf` holds, since the rest
/// could only be dropped, after costing hard-IRQ time.
static BURST: U32Param = U32Param::new(1, 1, FAST_BUF_SIZE as u32);
module_param!(
    BURST,
    "burst",
    0o644,
    "Bytes produced per timer tick, 1-4096 (default 1)"
);

/// Whether each stage logs its trace lines.
static TRACE: Trace = Trace(BoolParam::new(true));
module_param!(
    TRACE,
    "trace",
    0o644,
    "Log a trace line at each pipeline stage (default Y)"
);

/// The shortest period the trace lines can keep up with, in microseconds.
///
/// With `trace` on, each tick logs four lines from hard-IRQ context: tens of
/// microseconds of `printk()` under emulation, and milliseconds when a serial
/// console prints them. At a shorter period the CPU would never leave the
/// interrupt, so `period_us` below this needs `trace=0` (`delay` is at least
/// 1 ms, so it always keeps up).
const MIN_TRACED_PERIOD_US: u32 = 1000;

/// Why a combination of `trace` and `period_us` is refused.
const TOO_FAST_TO_TRACE: &str =
    "period_us below 1000 needs trace=0 (four trace lines per tick in hard IRQ cannot keep up)";

/// True if a `period_us` of `us` is too short for the trace lines.
fn too_fast_to_trace(us: u32) -> bool {
    us != 0 && us < MIN_TRACED_PERIOD_US
}

/// Set once `init` has checked the load-time parameters together; from then
/// on, a write to `trace` or `period_us` is checked against the other.
static LOADED: AtomicBool = AtomicBool::new(false);

/// `trace`: a boolean, refused on while `period_us` is too short for it.
struct Trace(BoolParam);

impl Trace {
    fn get(&self) -> bool {
        self.0.get()
    }
}

impl ParamValue for Trace {
    const NO_ARG: bool = true;

    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str> {
        let on = kapi::param::parse_bool(text)?;
        if on && LOADED.load(Ordering::Relaxed) && too_fast_to_trace(PERIOD_US.0.get()) {
            return Err(TOO_FAST_TO_TRACE);
        }
        self.0.set(text)
    }

    fn get(&self, out: &mut kapi::param::Writer<'_>) {
        ParamValue::get(&self.0, out);
    }
}

/// Logs a trace line if the `trace` parameter is on; with it off, no `printk` at all.
///
/// The lines use C `printk` conversions, checked at compile time against the
/// arguments' types (see [`kapi::printk`]): one pass through `vsprintf()`, as
/// in C, where `pr_info!` would format twice, which costs in hard-IRQ context.
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::TRACE.get() {
            $crate::kapi::printk::printk_info!($($arg)*);
        }
    };
}

// Lesson builds only (`make lesson NAME=...`): each lesson's wrong version of
// one pipeline step, reached through one hook per stage (see "The pipeline"
// below). Declared after `trace!`, which the lessons use too.
#[cfg(lesson)]
mod lessons;

/// Capacity of `fast_buf` in entries: 4096, the number of bytes in C's one-page
/// `fast_buf`. Each entry is a [`Sample`] (8 bytes), so the ring is 32 KiB.
const FAST_BUF_SIZE: usize = bindings::PAGE_SIZE;
/// Capacity of `rx_fifo` in bytes: one page, as in C.
const RX_FIFO_SIZE: u32 = bindings::PAGE_SIZE as u32;

/// The timer period now, in nanoseconds: `period_us` if set, else `delay`.
fn period_ns() -> u64 {
    match PERIOD_US.0.get() {
        0 => u64::from(DELAY.get()) * 1_000_000,
        us => u64::from(us) * 1_000,
    }
}

/// The monotonic clock (`CLOCK_MONOTONIC`) in nanoseconds: every time
/// simrupt measures comes from here. Two accessors read this clock, and which
/// is cheaper depends on the kernel's debugging options.
///
/// - `ktime_get()`, as C's simrupt reads it, on kernels without lock
///   debugging (Debian's own). It reads the timekeeper inside a sequence
///   counter, the same data the timer interrupt has just read to find the
///   expired timers, so a top half that runs every 100 ms finds it in the
///   cache: about 0.5 µs for the first reading of a tick under emulation,
///   against about 2 µs with the fast accessor below, whose copy nobody else
///   had touched (`make bench`'s `steps` build on Debian's 7.3, run of
///   2026-12-07).
/// - `ktime_get_mono_fast_ns()` on a kernel with lock debugging
///   (`CONFIG_DEBUG_LOCK_ALLOC`: lockdep, the project's test kernels). There
///   `ktime_get()`'s sequence counter is checked at every read: interrupts
///   off, a lock acquired and released reported to lockdep, about 4 µs for
///   each of the top half's two readings under emulation. The fast accessor
///   has no lock to check (it is the one the kernel provides for timestamps
///   in any context, NMI included). Its price is a reading that can be a
///   few nanoseconds early while the timekeeper is being updated.
///
/// Every difference of two readings here is taken as at least zero
/// (`saturating_sub`, [`Sample::ns_since`]).
pub(crate) fn now_ns() -> u64 {
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    // SAFETY: `ktime_get_mono_fast_ns()` has no preconditions and is
    // callable from any context.
    let ns = unsafe { bindings::ktime_get_mono_fast_ns() };
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    // SAFETY: `ktime_get()` may be called from any context but NMI (simrupt
    // never runs in NMI); `CLOCK_MONOTONIC` is never negative.
    let ns = unsafe { bindings::ktime_get() } as u64;
    ns
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    HrTimer,
    TimerList,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BottomHalfKind {
    Tasklet,
    BhWorkqueue,
}

/// The work item on the module's workqueue (`Simrupt::work`), as a `Work` ID.
const WORK: u64 = 0;
/// The bottom half as work on `system_bh_wq` (`Simrupt::bh_work`), as a `Work` ID.
const BH_WORK: u64 = 1;
/// The debugfs file `stats`, as a `DebugFile` ID.
const STATS_FILE: u64 = 0;
/// The debugfs file `latency`, as a `DebugFile` ID.
const LATENCY_FILE: u64 = 1;

use fast_buf_consumer::FastBufConsumer;

/// `fast_buf`'s consumer role, as a token only this module can make.
mod fast_buf_consumer {
    use core::sync::atomic::{AtomicBool, Ordering};

    /// The right to take bytes out of `fast_buf`; the one instance lives in `consumer_lock`.
    ///
    /// At most one exists in the whole module at a time, so it can only ever
    /// be one ring's consumer: [`FastBufConsumer::take`] makes it once, until
    /// it is dropped. Its field is private to this module, so no other code
    /// can make one.
    pub(crate) struct FastBufConsumer(());

    /// Set while the one [`FastBufConsumer`] exists.
    static TAKEN: AtomicBool = AtomicBool::new(false);

    impl FastBufConsumer {
        /// The consumer token, or `None` if it exists already (a second device).
        pub(crate) fn take() -> Option<Self> {
            (!TAKEN.swap(true, Ordering::Acquire)).then_some(Self(()))
        }
    }

    impl Drop for FastBufConsumer {
        fn drop(&mut self) {
            TAKEN.store(false, Ordering::Release);
        }
    }
}

/// One entry of `fast_buf`: a byte and when the top half made it, in 8 bytes.
///
/// The byte is the low 8 bits, the production time ([`now_ns`], ns since
/// boot) the high 56: a `(u8, u64)` pair would take 16 bytes with padding,
/// and double the ring. 2^56 ns is 834 days; times are compared modulo that
/// ([`Sample::ns_since`]), so the wrap changes no measurement.
#[derive(Clone, Copy)]
struct Sample(u64);

impl Sample {
    fn new(data: u8, produced_ns: u64) -> Self {
        Self((produced_ns << 8) | u64::from(data))
    }

    fn data(self) -> u8 {
        self.0 as u8
    }

    /// The production time, modulo 2^56 ns.
    fn produced_ns(self) -> u64 {
        self.0 >> 8
    }

    /// Nanoseconds from `produced_ns` (a [`Sample::produced_ns`]) to `now`;
    /// zero if `now` reads earlier (see [`now_ns`]).
    fn ns_since(produced_ns: u64, now: u64) -> u64 {
        let d = now.wrapping_sub(produced_ns) & ((1 << 56) - 1);
        // A difference of 2^55 ns (417 days) or more is a negative one.
        if d >= 1 << 55 {
            0
        } else {
            d
        }
    }
}

/// The rights to write `rx_fifo` and `rx_times`, which move in lockstep.
struct RxIn {
    data: KfifoIn<u8>,
    times: KfifoIn<u64>,
}

/// The rights to take from `rx_fifo` and `rx_times`, which move in lockstep.
struct RxOut {
    data: KfifoOut<u8>,
    times: KfifoOut<u64>,
}

/// The simulated device and its whole pipeline.
///
/// Always lives in an [`Arc`] (see [`Simrupt::new`]), which work items clone.
#[pin_data]
struct Simrupt {
    // Top half: one of the two timers, chosen at load time, armed while the
    // device is open (see `Running`).
    #[pin]
    hrtimer: HrTimer<Simrupt>,
    #[pin]
    timer: TimerList<Simrupt>,
    timer_kind: TimerKind,

    // Bottom half: one of the two, chosen at load time.
    #[pin]
    tasklet: Tasklet<Simrupt>,
    #[pin]
    bh_work: Work<Simrupt, BH_WORK>,
    bottom_half: BottomHalfKind,

    // Work, on the module's own workqueue.
    #[pin]
    work: Work<Simrupt, WORK>,
    workqueue: OwnedQueue,

    /// The last byte produced (C: `simrupt_data`); only the top half writes it.
    simrupt_data: AtomicU8,
    /// Top half -> work item ring (C: `fast_buf`), in vmalloc memory as in C.
    fast_buf: VBox<FastBuf<Sample, FAST_BUF_SIZE>>,
    /// Serialises the consumers of `fast_buf` (C: `consumer_lock`).
    #[pin]
    consumer_lock: Mutex<FastBufConsumer>,

    /// Work item -> reader fifo (C: `rx_fifo`).
    rx_fifo: Kfifo<u8>,
    /// The production time of each byte in `rx_fifo`, in the same order.
    ///
    /// Writers add the time *before* the byte, readers take the byte before
    /// its time, so every byte a reader can see has its time queued, and
    /// `rx_times` holds at most `rx_fifo`'s capacity plus one read in
    /// progress: twice the capacity is enough for its `put` never to fail.
    /// (64 KiB: from vmalloc, it need not be physically contiguous.)
    rx_times: Kfifo<u64>,
    /// Serialises writers of `rx_fifo` (C: `producer_lock`).
    #[pin]
    producer_lock: Mutex<RxIn>,
    /// Serialises takers of `rx_fifo`: a reader copying out, or the work item
    /// dropping the oldest byte when the fifo is full.
    ///
    /// A reader holds it across `kfifo_to_user()`, whose `copy_to_user()`
    /// may fault and sleep (a buffer paged out, or served by `userfaultfd`),
    /// so while `rx_fifo` is full a slow reader stalls the work item, and
    /// `fast_buf` fills behind it (those bytes are counted as dropped). The
    /// price buys the promise that a faulting read loses no byte: bytes leave
    /// the fifo only once copied. Copying out through a kernel buffer would
    /// drop the lock before the copy, but lose the bytes a fault leaves uncopied.
    #[pin]
    rx_out_lock: Mutex<RxOut>,
    /// Serialises readers, held across their sleep (C: `read_lock`).
    #[pin]
    read_lock: InterruptibleMutex,
    /// Readers (and `poll`) wait here for `rx_fifo` to fill (C: `rx_wait`).
    #[pin]
    rx_wait: WaitQueue,

    /// Open files, and the running pipeline: the first open starts it, the last close stops it.
    #[pin]
    open_count: Mutex<Opened>,

    /// Counters and histograms, in their own allocation (see [`Stats::new_boxed`]).
    stats: Pin<KBox<Stats>>,
}

impl_embeds!(Simrupt { hrtimer: HrTimer<Simrupt> });
impl_embeds!(Simrupt { timer: TimerList<Simrupt> });
impl_embeds!(Simrupt { tasklet: Tasklet<Simrupt> });

/// What `open_count` guards: the number of open files, and the pipeline while any is open.
struct Opened {
    count: u32,
    running: Option<Running>,
}

/// The pipeline's running stages, from the first open to the last close.
///
/// Each handle holds an `Arc<Simrupt>` and stops its stage when dropped, and
/// fields drop in order: first the top half (the timer is cancelled, waiting
/// for a running callback), then the bottom half that it schedules (the
/// tasklet is killed). [`Simrupt::stop`] then flushes the work items.
struct Running {
    // The top half: one of the two timers, armed.
    _hrtimer: Option<HrTimerHandle<Simrupt, 0>>,
    _timer_list: Option<TimerListHandle<Simrupt, 0>>,
    // The bottom half, if it is the tasklet (BH work needs no handle: each
    // queued run holds an `Arc` itself).
    _tasklet: Option<TaskletHandle<Simrupt, 0>>,
}

impl_has_work! {
    impl HasWork<Self, WORK> for Simrupt { self.work }
    impl HasWork<Self, BH_WORK> for Simrupt { self.bh_work }
}

// --- The pipeline, in a byte's direction ----------------------------------------
//
// From here on, the file follows one byte down the page: the top half makes
// it and puts it into `fast_buf` (`timer_handler`, `process_data`), the
// bottom half queues the work (`simrupt_tasklet_func`), the work item moves
// it into `rx_fifo` (`simrupt_work_func`, `produce_data`), and `read()`
// copies it to user space. Then come `open` and `release`, which start and
// stop the pipeline, and last the module's load and unload. Each stage opens
// with the callback that runs it. The names are the C original's; `simrupt.c`
// has the stages in the reverse order, because C needs a function declared
// before its caller. Two C names look alike and sit on opposite sides of the
// ring: `process_data` (top half) *puts into* `fast_buf`; `produce_data`
// (work item) *takes what came out of it* and puts it into `rx_fifo`.
//
// Lesson builds (`make lesson NAME=...`) change a stage through one hook,
// `#[cfg(lesson)] lessons::...`, at the step the lesson breaks: it runs the
// lesson's wrong version of that step (in `lessons.rs`), in addition to or
// instead of the real one. The normal build has no hook.

// --- Top half: hard-IRQ context (hrtimer) or softirq with IRQs off (timer_list).

// The top half re-arms itself until `stop` drops its handle, which cancels
// the timer and waits for a running callback.
impl HrTimerHandler for Simrupt {
    // The whole top half is inlined into kapi's timer trampoline, which sits
    // in `.text.hot` with the C helpers it calls, on one page (see kapi.rs):
    // a tick runs one function there, not five spread over four pages (a
    // cold tick pays for each page it enters; see Documentation/benchmarks.md).
    #[inline(always)]
    unsafe fn on_hrtimer(this: ArcRef<'_, Self>) -> Restart {
        if this.timer_kind != TimerKind::HrTimer {
            // Started by something other than `Simrupt::start` (`HrTimer::start`
            // is safe to call): not the top half of this load, which the
            // `timer_list` plays. Producing here would make two producers.
            #[cfg(kapi_selftest)]
            GATE_REFUSED.fetch_add(1, Ordering::Relaxed);
            return Restart::No;
        }
        step!(2);
        // SAFETY: As in `on_timer_list`, for the hrtimer.
        unsafe { Self::timer_handler(this, TimerKind::HrTimer) };
        step!(10);
        Restart::AfterNs(period_ns())
    }

    fn on_hrtimer_overrun(this: ArcRef<'_, Self>, missed: u64) {
        this.stats
            .timer_overruns
            .fetch_add(missed, Ordering::Relaxed);
    }
}

/// Self-test builds only: how often a timer callback of the kind not chosen
/// at load time returned without producing (the gate in `on_hrtimer` and
/// `on_timer_list`).
#[cfg(kapi_selftest)]
static GATE_REFUSED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

#[cfg(kapi_selftest)]
impl Simrupt {
    /// For the kapi self-test, before any open: starts the timer of the kind
    /// *not* chosen at load time (as any code may: `start` is safe), waits
    /// for its callback, and stops it. Returns the name of the check (which
    /// gate ran), how often the gate refused its callback, and whether the
    /// device produced nothing meanwhile.
    fn selftest_timer_kind_gate(this: &Arc<Self>) -> (&'static str, u32, bool) {
        let produced = this.stats.produced.load(Ordering::Relaxed);
        let refused = GATE_REFUSED.load(Ordering::Relaxed);
        // Until the callback has run (its first expiry is 1 ms or a jiffy
        // away), for at most about half a second on a slow, busy machine.
        let wait = || {
            for _ in 0..50 {
                // SAFETY: `msleep` may be called from process context: the
                // module's init, where the self-test runs.
                unsafe { kernel::bindings::msleep(10) };
                if GATE_REFUSED.load(Ordering::Relaxed) != refused {
                    break;
                }
            }
        };
        let ran = match this.timer_kind {
            TimerKind::HrTimer => {
                let handle = TimerList::start(this.clone(), 1);
                wait();
                drop(handle);
                "simrupt-timer-kind-gate-timer_list"
            }
            TimerKind::TimerList => {
                let handle = HrTimer::start(this.clone(), 1_000_000);
                wait();
                drop(handle);
                "simrupt-timer-kind-gate-hrtimer"
            }
        };
        (
            ran,
            GATE_REFUSED.load(Ordering::Relaxed).wrapping_sub(refused),
            this.stats.produced.load(Ordering::Relaxed) == produced && this.fast_buf.is_empty(),
        )
    }
}

impl TimerListHandler for Simrupt {
    // Inlined, as `on_hrtimer`.
    #[inline(always)]
    unsafe fn on_timer_list(this: ArcRef<'_, Self>) -> Option<u32> {
        if this.timer_kind != TimerKind::TimerList {
            // As in `on_hrtimer`: the hrtimer is this load's top half.
            #[cfg(kapi_selftest)]
            GATE_REFUSED.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        step!(2);
        // SAFETY: This is the top half, `fast_buf`'s only producer: only the
        // timer core calls this (the contract), from this `Simrupt`'s one
        // timer of the kind `timer_kind` names (fixed at load time; the check
        // above returns from the other kind's callback, whoever started it),
        // and a timer callback never runs concurrently with itself, however
        // often it is started.
        unsafe { Self::timer_handler(this, TimerKind::TimerList) };
        step!(10);
        Some(DELAY.get())
    }
}

impl Simrupt {
    /// The top half: produce `burst` bytes and schedule the bottom half (C: `timer_handler()`).
    ///
    /// Runs with interrupts disabled; may not sleep, allocate or take a mutex.
    ///
    /// # Safety
    ///
    /// Only the callback of this `Simrupt`'s timer of the kind `timer_kind`
    /// names may call it, with `kind` equal to `timer_kind`: the top half is
    /// `fast_buf`'s only producer. (`kind` is a constant in each callback, so
    /// each one is compiled with its own path only.)
    #[inline(always)]
    unsafe fn timer_handler(this: ArcRef<'_, Self>, kind: TimerKind) {
        trace!("[CPU#%u] enter timer_handler\n", context::cpu() => u32);
        step!(3);
        // A timer_list callback runs in softirq context with interrupts
        // enabled; disable them, as the C original does, to act like an IRQ.
        match kind {
            TimerKind::TimerList => context::with_irqs_disabled(|| {
                // SAFETY: We are the top half (the contract).
                unsafe { Self::top_half(this, kind) }
            }),
            // SAFETY: As above.
            TimerKind::HrTimer => unsafe { Self::top_half(this, kind) },
        }
    }

    /// The top half's work, interrupts off: check the context, then [`Simrupt::process_data`], timed.
    ///
    /// # Safety
    ///
    /// As for [`Simrupt::timer_handler`]: only the top half calls it.
    #[inline(always)]
    unsafe fn top_half(this: ArcRef<'_, Self>, kind: TimerKind) {
        // One call answers all the top half asks of its context (and the
        // CPU cannot change: neither a hard IRQ nor a softirq migrates).
        let here = context::Here::now();
        let cpu = here.cpu();
        check_context!(
            here.irqs_disabled(),
            "timer_handler must run with interrupts disabled"
        );
        if kind == TimerKind::HrTimer {
            check_context!(
                here.in_hardirq(),
                "timer_handler (hrtimer) must run in hard-IRQ context"
            );
        }
        step!(4);
        let start = now_ns();
        step!(5);
        // SAFETY: We are the top half (the contract).
        unsafe { Self::process_data(this, cpu, start) };
        let spent = this.stats.top_half_ran(cpu, start);
        step!(9);
        trace!("[CPU#%u] timer_handler in_irq: %llu ns\n", cpu => u32, spent => u64);
    }

    /// Puts the next bytes into `fast_buf` and schedules the bottom half (C: `process_data()`).
    ///
    /// # Safety
    ///
    /// As for [`Simrupt::fast_buf_put`]: only the top half calls it.
    #[inline(always)]
    unsafe fn process_data(this: ArcRef<'_, Self>, cpu: u32, now: u64) {
        #[cfg(lesson)]
        if lessons::process_data(this, cpu, now) {
            return;
        }
        trace!("[CPU#%u] produce data\n", cpu => u32);
        let burst = BURST.get();
        // Counted before any of them can be seen in `fast_buf`: `stats`
        // promises `produced` is never less than where the bytes went.
        this.stats.produced(burst, now);
        step!(6);
        let mut data = this.simrupt_data.load(Ordering::Relaxed);
        let mut dropped = 0u64;
        for _ in 0..burst {
            data = next_simrupt_data(data);
            let sample = Sample::new(data, now);
            // Full: the byte is dropped and counted.
            // SAFETY: The caller is the only producer (the contract).
            if unsafe { this.fast_buf_put(sample) }.is_err() {
                // At most `burst` (a `u32`) of them: a `u64` cannot wrap, and
                // `wrapping_add` leaves no overflow check (a panic) in the top half.
                dropped = dropped.wrapping_add(1);
            }
        }
        this.simrupt_data.store(data, Ordering::Relaxed);
        if dropped != 0 {
            this.stats.fast_buf_full(dropped);
        }
        step!(7);
        match this.bottom_half {
            BottomHalfKind::Tasklet => {
                trace!("[CPU#%u] scheduling tasklet\n", cpu => u32);
                this.tasklet.schedule();
                step!(8);
            }
            BottomHalfKind::BhWorkqueue => {
                trace!("[CPU#%u] scheduling bh work\n", cpu => u32);
                // Already queued: the pending run will handle this byte too.
                let _ = wq::system_bh().enqueue::<Arc<Self>, BH_WORK>(this.into());
            }
        }
    }

    /// Appends a byte to `fast_buf`; gives it back if full (C: `fast_buf_put()`).
    ///
    /// # Safety
    ///
    /// The caller must be `fast_buf`'s only producer while this runs: the top
    /// half (see [`Simrupt::timer_handler`]).
    unsafe fn fast_buf_put(&self, sample: Sample) -> core::result::Result<(), Sample> {
        // SAFETY: The caller is the only producer (the contract).
        unsafe { self.fast_buf.producer() }.push(sample)
    }
}

/// The byte after `data` in the cyclic sequence ' ' (0x20) ..= '~' (0x7e).
///
/// C: `max((simrupt_data + 1) % 0x7f, 0x20)`; starting from 0, the first byte is ' '.
fn next_simrupt_data(data: u8) -> u8 {
    (data.wrapping_add(1) % 0x7f).max(0x20)
}

// --- Bottom half: softirq context, a tasklet or BH work.

impl TaskletHandler for Simrupt {
    fn on_tasklet(this: ArcBorrow<'_, Self>) {
        Self::simrupt_tasklet_func(this);
    }
}

impl WorkItem<BH_WORK> for Simrupt {
    type Pointer = Arc<Simrupt>;

    /// The bottom half as BH work: runs in softirq context from `system_bh_wq`.
    fn run(this: Arc<Simrupt>) {
        Self::simrupt_tasklet_func(this.as_arc_borrow());
    }
}

impl Simrupt {
    /// The bottom half: queue the work item on `simruptd` (C: `simrupt_tasklet_func()`).
    ///
    /// Softirq context: may not sleep. Runs as a tasklet or as BH work.
    fn simrupt_tasklet_func(this: ArcBorrow<'_, Self>) {
        check_context!(
            context::in_serving_softirq(),
            "the bottom half must run in softirq context"
        );
        let cpu = context::cpu();
        this.stats.bottom_half_started(cpu, now_ns());
        // Timed, as in C: queueing the work.
        let start = now_ns();
        #[cfg(lesson)]
        lessons::simrupt_tasklet_func();
        // Already queued: the pending run will drain this byte too.
        let _ = this.workqueue.enqueue::<Arc<Self>, WORK>(this.into());
        trace!(
            "[CPU#%u] simrupt_tasklet_func in_softirq: %llu ns\n",
            cpu => u32,
            now_ns().saturating_sub(start) => u64
        );
    }
}

// --- Work: process context, on the `simruptd` workqueue.

impl WorkItem<WORK> for Simrupt {
    type Pointer = Arc<Simrupt>;

    fn run(this: Arc<Simrupt>) {
        Self::simrupt_work_func(this.as_arc_borrow());
    }
}

impl Simrupt {
    /// Moves the bytes from `fast_buf` to `rx_fifo`, then wakes readers (C: `simrupt_work_func()`).
    ///
    /// Process context (a kworker of `simruptd`): may sleep, takes mutexes.
    fn simrupt_work_func(this: ArcBorrow<'_, Self>) {
        #[cfg(lesson)]
        if lessons::simrupt_work_func(this) {
            return;
        }
        let cpu = context::cpu();
        this.stats.work_started(cpu, now_ns());
        trace!("[CPU#%u] simrupt_work_func\n", cpu => u32);
        check_context!(
            context::may_sleep(),
            "simrupt_work_func must run in process context that may sleep"
        );
        // Timed: moving the bytes and waking the readers.
        let start = now_ns();
        // At most one ring's worth per run: if the top half refills
        // `fast_buf` faster than this drains it, an unbounded loop would never
        // return. Instead the work queues itself again and returns.
        let mut moved = 0;
        while moved < FAST_BUF_SIZE {
            let sample = {
                let mut consumer = this.consumer_lock.lock();
                this.fast_buf_get(&mut consumer)
            };
            let Some(sample) = sample else { break };
            let mut writer = this.producer_lock.lock();
            this.produce_data(&mut writer, sample);
            moved += 1;
        }
        if moved == 0 {
            this.stats.work_found_nothing();
        }
        this.report_losses(false);
        this.rx_wait.wake_up_interruptible();
        if moved == FAST_BUF_SIZE && !this.fast_buf.is_empty() {
            let _ = this.workqueue.enqueue::<Arc<Self>, WORK>(this.into());
        }
        trace!(
            "[CPU#%u] simrupt_work_func moved %u bytes: %llu ns\n",
            cpu => u32,
            moved as u32 => u32, // At most FAST_BUF_SIZE.
            now_ns().saturating_sub(start) => u64
        );
    }

    /// Takes the oldest byte from `fast_buf` (C: `fast_buf_get()`).
    ///
    /// `&mut FastBufConsumer` proves that `consumer_lock` is held.
    fn fast_buf_get(&self, _consumer: &mut FastBufConsumer) -> Option<Sample> {
        // SAFETY: At most one `FastBufConsumer` exists, and we borrow it
        // mutably: the caller is the only consumer of any ring right now.
        unsafe { self.fast_buf.consumer() }.pop()
    }

    /// Logs the bytes lost since the last report: dropped by the top half
    /// because `fast_buf` was full, and overwritten in `rx_fifo`. At most once
    /// a second per kind, unless `now` (the last close flushes what is left).
    /// Counts build up between reports, so every lost byte is in some line.
    fn report_losses(&self, now: bool) {
        let s = &self.stats;
        let t = now_ns();
        if s.dropped_unreported.load(Ordering::Relaxed) != 0 && (now || s.drop_report.allow(t)) {
            pr_warn!(
                "fast_buf full: {} bytes dropped ({} so far)\n",
                s.dropped_unreported.swap(0, Ordering::Relaxed),
                s.dropped_fast_buf.load(Ordering::Relaxed)
            );
        }
        if s.overwritten_unreported.load(Ordering::Relaxed) != 0
            && (now || s.overwrite_report.allow(t))
        {
            pr_warn!(
                "rx_fifo full: oldest byte overwritten {} times ({} so far)\n",
                s.overwritten_unreported.swap(0, Ordering::Relaxed),
                s.overwritten_kfifo.load(Ordering::Relaxed)
            );
        }
    }
}

// --- rx_fifo: the kfifo readers take from (C: `produce_data()`).

impl Simrupt {
    /// Appends `sample` to `rx_fifo`, overwriting the oldest byte if full (C: `produce_data()`).
    ///
    /// Process context (the work item), `producer_lock` held (`writer`).
    fn produce_data(&self, writer: &mut RxIn, sample: Sample) {
        if self.rx_fifo_put(writer, sample) {
            return;
        }
        // Holding `rx_out_lock`, no read is half done: both fifos hold the
        // same bytes, and the oldest of each goes.
        let (overwritten, time_skipped) = {
            let mut reader = self.rx_out_lock.lock();
            let time_skipped = self.rx_times.skip(&mut reader.times);
            (self.rx_fifo.skip(&mut reader.data), time_skipped)
        };
        if time_skipped != overwritten {
            self.invariant_broken("rx_times and rx_fifo out of step at overwrite");
        }
        if overwritten {
            self.stats.kfifo_overwritten();
        }
        // There is room now: `put` cannot fail, nobody else writes.
        if !self.rx_fifo_put(writer, sample) {
            self.invariant_broken("rx_fifo full right after making room");
        }
    }

    /// Appends a byte and its production time; `false` if `rx_fifo` is full.
    fn rx_fifo_put(&self, writer: &mut RxIn, sample: Sample) -> bool {
        // Only we add to `rx_fifo` (we hold `producer_lock`) and readers only
        // take from it, so room seen now is still there below.
        if self.rx_fifo.len() == self.rx_fifo.capacity() {
            return false;
        }
        // The time first: a reader may take the byte as soon as it is in.
        // Cannot fail: see `rx_times`.
        if !self.rx_times.put(&mut writer.times, sample.produced_ns()) {
            self.invariant_broken("rx_times full while rx_fifo has room");
        }
        self.rx_fifo.put(&mut writer.data, sample.data())
    }

    /// Reports a broken internal invariant, such as a `put` that cannot fail
    /// failing: counted in `stats` (`invariant_failures`), and logged the first
    /// time. It means simrupt has a bug; the tests' log scanner fails on the line.
    fn invariant_broken(&self, what: &str) {
        if self
            .stats
            .invariant_failures
            .fetch_add(1, Ordering::Relaxed)
            == 0
        {
            pr_err!("invariant broken: {} (a simrupt bug)\n", what);
        }
    }
}

// --- /dev/simrupt, the reader side: process context, may sleep. ----------------

static DEVICE: DeviceSlot<Simrupt> = DeviceSlot::new();

impl CharDevice for Simrupt {
    fn slot() -> &'static DeviceSlot<Self> {
        &DEVICE
    }

    /// Blocks until `rx_fifo` has data, then copies up to `len` bytes of it to `buf`.
    fn read(&self, file: &File, buf: UserBuf, len: usize) -> Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        // One reader at a time; Ctrl-C while waiting here gives EINTR.
        let _reader = self.read_lock.lock_interruptible()?;
        loop {
            let copied = {
                let mut out = self.rx_out_lock.lock();
                let copied = self.rx_fifo.to_user(&mut out.data, buf, len)?;
                // The same number of production times leave `rx_times`.
                let now = now_ns();
                for _ in 0..copied {
                    match self.rx_times.get(&mut out.times) {
                        Some(t) => self.stats.byte_read(Sample::ns_since(t, now)),
                        None => self.invariant_broken("rx_times empty while rx_fifo had bytes"),
                    }
                }
                copied
            };
            if copied > 0 {
                self.stats.delivered(copied);
                return Ok(copied);
            }
            if file.is_nonblocking() {
                return Err(EAGAIN);
            }
            #[cfg(lesson)]
            if lessons::read_wait(self) {
                continue;
            }
            self.rx_wait
                .wait_interruptible_until(|| !self.rx_fifo.is_empty())?;
        }
    }

    /// Readable exactly when `rx_fifo` holds data; the work item's wake-up re-polls.
    fn poll<'a>(&'a self, _file: &File, table: &PollTable<'a>) -> u32 {
        table.register(&self.rx_wait);
        if self.rx_fifo.is_empty() {
            0
        } else {
            EPOLLIN | EPOLLRDNORM
        }
    }

    // --- Open and close: the first open starts the pipeline, the last close stops it.

    fn open(this: ArcBorrow<'_, Self>, _file: &File) -> Result {
        #[cfg(lesson)]
        lessons::open()?;
        let mut opened = this.open_count.lock();
        opened.count += 1;
        if opened.count == 1 {
            opened.running = Some(Self::start(this));
        }
        // The C original's words (since 2024; LKMPG's older transcripts show "openm").
        pr_info!("open current cnt: {}\n", opened.count);
        Ok(())
    }

    fn release(&self, _file: &File) {
        let mut opened = self.open_count.lock();
        opened.count -= 1;
        if opened.count == 0 {
            let running = opened.running.take();
            self.stop(running);
        }
        pr_info!("release, current cnt: {}\n", opened.count);
    }
}

// --- Start and stop: process context, under `open_count`.

impl Simrupt {
    /// Starts the pipeline: enables the bottom half, then arms the top half.
    fn start(this: ArcBorrow<'_, Self>) -> Running {
        #[cfg(lesson)]
        if let Some(running) = lessons::start(this) {
            return running;
        }
        // The bottom half first, so that the first tick can schedule it.
        let bottom_half =
            (this.bottom_half == BottomHalfKind::Tasklet).then(|| Tasklet::enable(this.into()));
        let hr = this.timer_kind == TimerKind::HrTimer;
        Running {
            _hrtimer: hr.then(|| HrTimer::start(this.into(), period_ns())),
            _timer_list: (!hr).then(|| TimerList::start(this.into(), DELAY.get())),
            _tasklet: bottom_half,
        }
    }

    /// Stops the pipeline stage by stage, each after the one that feeds it.
    ///
    /// On return no timer, bottom half or work item is pending or running,
    /// and `fast_buf` is empty (the work item drained it into `rx_fifo`).
    fn stop(&self, running: Option<Running>) {
        // 1. No more top halves: dropping the timer's handle cancels it,
        //    waiting for a running callback. 2. No more bottom halves: then
        //    the tasklet's handle kills it; BH work is flushed.
        drop(running);
        wq::flush_work(&self.bh_work);
        // 3. No more work. A run may have queued itself again (it drains at
        //    most one ring's worth per run), so flush until it stays idle.
        while wq::flush_work(&self.work) {}
        #[cfg(lesson)]
        lessons::stop(self);
        // 4. Empty `fast_buf` for the next open (C: `fast_buf_clear()`);
        //    after step 3 it is empty unless the work item could not run.
        if !self.fast_buf.is_empty() {
            let cleared = {
                let mut consumer = self.consumer_lock.lock();
                self.fast_buf_clear(&mut consumer)
            } as u64;
            let s = &self.stats;
            s.dropped_fast_buf.fetch_add(cleared, Ordering::Release);
            s.dropped_unreported.fetch_add(cleared, Ordering::Relaxed);
        }
        // 5. Report every loss not reported yet.
        self.report_losses(true);
    }

    /// Empties `fast_buf`, returning how many bytes it discarded (C: `fast_buf_clear()`).
    fn fast_buf_clear(&self, _consumer: &mut FastBufConsumer) -> usize {
        // SAFETY: As in `fast_buf_get`: the caller has the one consumer token.
        unsafe { self.fast_buf.consumer() }.clear()
    }
}

// --- Load and unload: process context. -----------------------------------------

/// Allocates an empty `fast_buf` with vmalloc, building it in place.
fn new_fast_buf() -> Result<VBox<FastBuf<Sample, FAST_BUF_SIZE>>> {
    let mut ring = VBox::<FastBuf<Sample, FAST_BUF_SIZE>>::new_uninit(GFP_KERNEL)?;
    // SAFETY: `as_mut_ptr` is valid for writes and suitably aligned for the ring.
    unsafe { FastBuf::init_in_place(ring.as_mut_ptr()) };
    // SAFETY: `init_in_place` initialised the ring.
    Ok(unsafe { ring.assume_init() })
}

/// Passes `result` through, logging which step of loading failed, and why.
///
/// Whatever the step, the values built before it are dropped, and so freed,
/// as `?` returns: `init` unwinds by construction.
fn init_stage<T, E: Into<Error>>(stage: &str, result: core::result::Result<T, E>) -> Result<T> {
    result.map_err(|e| {
        let e = e.into();
        pr_err!("init: {} failed: error {}\n", stage, e.to_errno());
        e
    })
}

impl Simrupt {
    /// Allocates the device: buffers, workqueue, timers; nothing runs until the first open.
    ///
    /// Each allocation that fails drops (frees) the ones before it.
    fn new() -> Result<Arc<Self>> {
        let timer_kind = match TIMER.index() {
            0 => TimerKind::HrTimer,
            _ => TimerKind::TimerList,
        };
        let bottom_half = match BOTTOM_HALF.index() {
            0 => BottomHalfKind::Tasklet,
            _ => BottomHalfKind::BhWorkqueue,
        };
        if timer_kind == TimerKind::TimerList && PERIOD_US.0.get() != 0 {
            pr_err!("period_us needs timer=hrtimer\n");
            return Err(EINVAL);
        }
        if TRACE.get() && too_fast_to_trace(PERIOD_US.0.get()) {
            pr_err!("period_us={}: {}\n", PERIOD_US.0.get(), TOO_FAST_TO_TRACE);
            return Err(EINVAL);
        }
        let (rx_fifo, rx_in, rx_out) = init_stage("rx_fifo", Kfifo::alloc(RX_FIFO_SIZE))?;
        let (rx_times, times_in, times_out) =
            init_stage("rx_times", Kfifo::alloc_vmalloc(2 * RX_FIFO_SIZE))?;
        let fast_buf = init_stage("fast_buf", new_fast_buf())?;
        let workqueue = init_stage("workqueue", OwnedQueue::new_unbound(c"simruptd"))?;
        let stats = init_stage("stats", Stats::new_boxed())?;
        let consumer = init_stage(
            "fast_buf consumer",
            FastBufConsumer::take().ok_or(kernel::error::code::EBUSY),
        )?;
        let simrupt = Arc::pin_init(
            pin_init!(Self {
                hrtimer <- HrTimer::new(),
                timer <- new_timer_list!(c"simrupt::timer"),
                timer_kind,
                tasklet <- Tasklet::new(),
                bh_work <- new_work!("Simrupt::bh_work"),
                bottom_half,
                work <- new_work!("Simrupt::work"),
                workqueue,
                simrupt_data: AtomicU8::new(0),
                fast_buf,
                consumer_lock <- new_mutex!(consumer, "simrupt::consumer_lock"),
                rx_fifo,
                rx_times,
                producer_lock <- new_mutex!(
                    RxIn {
                        data: rx_in,
                        times: times_in
                    },
                    "simrupt::producer_lock"
                ),
                rx_out_lock <- new_mutex!(
                    RxOut {
                        data: rx_out,
                        times: times_out
                    },
                    "simrupt::rx_out_lock"
                ),
                read_lock <- new_interruptible_mutex!(c"simrupt::read_lock"),
                rx_wait <- new_waitqueue!(c"simrupt::rx_wait"),
                open_count <- new_mutex!(
                    Opened {
                        count: 0,
                        running: None
                    },
                    "simrupt::open_count"
                ),
                stats,
            }),
            GFP_KERNEL,
        );
        init_stage("device state", simrupt)
    }
}

struct SimruptModule {
    /// `/sys/kernel/debug/simrupt/`; dropped (removed) first.
    _debugfs: debugfs::Dir,
    /// `/dev/simrupt`; dropped next, so no new file can reach the device.
    _chrdev: chrdev::Registration<Simrupt>,
    simrupt: Arc<Simrupt>,
    /// Test builds only: what `kapi_selftest` keeps until unload.
    #[cfg(kapi_selftest)]
    _selftest: Option<debugfs::Dir>,
}

impl kernel::Module for SimruptModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Parameter writes from now on check `trace` against `period_us`
        // (two writes are serialised by the module's `kernel_param_lock`);
        // `Simrupt::new` checks the values given to `insmod`, after this.
        LOADED.store(true, Ordering::SeqCst);
        let simrupt = Simrupt::new()?;
        let chrdev = init_stage(
            "/dev/simrupt",
            chrdev::Registration::new(c"simrupt", simrupt.clone()),
        )?;
        pr_info!("registered new simrupt device: {},{}\n", chrdev.major(), 0);
        #[cfg(kapi_selftest)]
        let selftest = kapi_selftest::run(
            || chrdev::Registration::new(c"simrupt_dup", simrupt.clone()).map(drop),
            || Simrupt::selftest_timer_kind_gate(&simrupt),
        );
        let mut dir = debugfs::Dir::new(c"simrupt");
        dir.file::<Simrupt, STATS_FILE>(c"stats", 0o644, simrupt.clone());
        dir.file::<Simrupt, LATENCY_FILE>(c"latency", 0o644, simrupt.clone());
        Ok(Self {
            _debugfs: dir,
            _chrdev: chrdev,
            simrupt,
            #[cfg(kapi_selftest)]
            _selftest: selftest,
        })
    }
}

impl Drop for SimruptModule {
    fn drop(&mut self) {
        // No file is open (each holds a module reference), so the pipeline is
        // already stopped; stopping again makes sure no work item still holds
        // a reference. Then the fields drop: the device node goes, and the last
        // `Arc` frees timers, tasklet, workqueue (destroyed) and buffers.
        let running = self.simrupt.open_count.lock().running.take();
        self.simrupt.stop(running);
        let s = &self.simrupt.stats;
        pr_info!(
            "unloading: produced {} delivered {} dropped {} overwritten {} queued {} (fast_buf {}/{}, rx_fifo {}/{})\n",
            s.produced.load(Ordering::Relaxed),
            s.delivered.load(Ordering::Relaxed),
            s.dropped_fast_buf.load(Ordering::Relaxed),
            s.overwritten_kfifo.load(Ordering::Relaxed),
            self.simrupt.fast_buf.len() + self.simrupt.rx_fifo.len(),
            self.simrupt.fast_buf.len(),
            self.simrupt.fast_buf.capacity(),
            self.simrupt.rx_fifo.len(),
            self.simrupt.rx_fifo.capacity()
        );
        #[cfg(bench_variant = "steps")]
        bench_steps::print();
    }
}
