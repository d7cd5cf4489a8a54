// SPDX-License-Identifier: GPL-2.0

//! What the pipeline counts and measures, and its debugfs files.
//!
//! `/sys/kernel/debug/simrupt/stats` (counters) and `.../latency` (histograms);
//! see `Documentation/interfaces.md` for every line. The counters obey, exactly
//! whenever the device is idle:
//!
//! ```text
//! produced = delivered + dropped_fast_buf + overwritten_kfifo + queued_fast_buf + queued_kfifo
//! ```
//!
//! Every counter is an atomic updated with one lock-free instruction, so the
//! top half (hard IRQ) counts too. The debugfs `show` and `write` callbacks
//! (process context) take `files_lock`, so a reset never runs in the middle
//! of a rendering: each read of either file is one consistent summary.

use crate::histogram::{Histogram, PerCpu, MAX_CPUS};
use crate::kapi::debugfs::{DebugFile, SeqWriter};
use crate::Simrupt;
use core::fmt::{self, Write};
use core::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::{error::code::EINVAL, new_mutex, prelude::*, sync::Mutex};

/// Event counters and latency histograms of one device.
#[pin_data]
pub(crate) struct Stats {
    /// Serialises the debugfs callbacks (`show` and `write` of both files),
    /// never taken by the pipeline.
    #[pin]
    files_lock: Mutex<()>,
    /// Bytes made by the top half.
    pub(crate) produced: AtomicU64,
    /// Bytes copied to readers.
    pub(crate) delivered: AtomicU64,
    /// Bytes lost because `fast_buf` was full (or, never in practice, left in it at close).
    pub(crate) dropped_fast_buf: AtomicU64,
    /// Of those, how many have not been reported in the log yet.
    pub(crate) dropped_unreported: AtomicU64,
    /// Oldest bytes of `rx_fifo` overwritten to make room.
    pub(crate) overwritten_kfifo: AtomicU64,
    /// Of those, how many have not been reported in the log yet.
    pub(crate) overwritten_unreported: AtomicU64,
    /// Limits the `fast_buf` loss report to one line per second.
    pub(crate) drop_report: RateLimit,
    /// Limits the `rx_fifo` loss report to one line per second.
    pub(crate) overwrite_report: RateLimit,
    /// Timer periods skipped because a tick came too late (hrtimer only).
    pub(crate) timer_overruns: AtomicU64,
    /// Runs of the bottom half (tasklet or BH work).
    pub(crate) bottom_half_runs: AtomicU64,
    /// Runs of the work item.
    pub(crate) work_runs: AtomicU64,
    /// Runs of the work item that found `fast_buf` empty: an earlier run had drained it.
    pub(crate) work_runs_empty: AtomicU64,
    /// Broken internal invariants (a `put` that cannot fail failed, ...): always 0,
    /// or simrupt has a bug, which it also reports in the log.
    pub(crate) invariant_failures: AtomicU64,
    /// Where the top half ran, per CPU.
    pub(crate) top_half_cpu: PerCpu,
    /// Where the bottom half ran, per CPU.
    pub(crate) bottom_half_cpu: PerCpu,
    /// Where the work item ran, per CPU.
    pub(crate) work_cpu: PerCpu,
    /// (a) Time spent in the top half.
    pub(crate) top_half_ns: Histogram,
    /// (b) Top half starting (the "interrupt") -> bottom half starting.
    pub(crate) top_to_bottom_ns: Histogram,
    /// (c) Bottom half queueing the work -> work starting.
    pub(crate) bottom_to_work_ns: Histogram,
    /// (d) A byte's production -> `read()` copying it to user space.
    pub(crate) produce_to_read_ns: Histogram,
    /// When the bottom half was first scheduled and has not started yet (0: not pending).
    pub(crate) bottom_half_pending_since: AtomicU64,
    /// When the work was first queued and has not started yet (0: not pending).
    pub(crate) work_pending_since: AtomicU64,
}

impl Stats {
    /// Allocates zeroed counters and empty histograms, built in place on the
    /// heap: at almost 4 KiB they are too big to build on the kernel stack
    /// and move, and kept apart from the device they keep it below the 8 KiB
    /// largest slab size.
    pub(crate) fn new_boxed() -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(Self {
                files_lock <- new_mutex!((), "simrupt::stats_files_lock"),
                produced: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                dropped_fast_buf: AtomicU64::new(0),
                dropped_unreported: AtomicU64::new(0),
                overwritten_kfifo: AtomicU64::new(0),
                overwritten_unreported: AtomicU64::new(0),
                drop_report: RateLimit::new(),
                overwrite_report: RateLimit::new(),
                timer_overruns: AtomicU64::new(0),
                bottom_half_runs: AtomicU64::new(0),
                work_runs: AtomicU64::new(0),
                work_runs_empty: AtomicU64::new(0),
                invariant_failures: AtomicU64::new(0),
                top_half_cpu: PerCpu::new(),
                bottom_half_cpu: PerCpu::new(),
                work_cpu: PerCpu::new(),
                top_half_ns: Histogram::new(),
                top_to_bottom_ns: Histogram::new(),
                bottom_to_work_ns: Histogram::new(),
                produce_to_read_ns: Histogram::new(),
                bottom_half_pending_since: AtomicU64::new(0),
                work_pending_since: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// Marks a stage as pending since `now`, unless it already was.
    pub(crate) fn mark_pending(since: &AtomicU64, now: u64) {
        let _ = since.compare_exchange(0, now.max(1), Relaxed, Relaxed);
    }

    /// Records into `hist` how long a pending stage waited, and clears the mark.
    pub(crate) fn record_wait(since: &AtomicU64, hist: &Histogram, now: u64) {
        let t = since.swap(0, Relaxed);
        if t != 0 {
            hist.record(now.saturating_sub(t));
        }
    }
}

/// Allows an event at most once per second (a per-message `printk_ratelimit()`).
pub(crate) struct RateLimit {
    next_ns: AtomicU64,
}

impl RateLimit {
    pub(crate) const fn new() -> Self {
        Self {
            next_ns: AtomicU64::new(0),
        }
    }

    /// True if the last allowed event was at least a second before `now`.
    pub(crate) fn allow(&self, now: u64) -> bool {
        let next = self.next_ns.load(Relaxed);
        now >= next
            && self
                .next_ns
                .compare_exchange(next, now.saturating_add(1_000_000_000), Relaxed, Relaxed)
                .is_ok()
    }
}

/// How many CPUs the kernel can have, capped at what [`PerCpu`] tracks.
fn nr_cpus() -> usize {
    (crate::kapi::context::nr_cpu_ids() as usize).clamp(1, MAX_CPUS)
}

/// Accepts "0", "reset" (with or without a newline).
fn is_reset(text: &[u8]) -> bool {
    matches!(text.strip_suffix(b"\n").unwrap_or(text), b"0" | b"reset")
}

/// `stats`: one `name: value` per line.
impl DebugFile<{ crate::STATS_FILE }> for Simrupt {
    fn show(&self, out: &mut SeqWriter<'_>) -> fmt::Result {
        let s = &self.stats;
        let _files = s.files_lock.lock();
        // Read each place a byte can go before the place it comes from
        // (produced -> dropped | fast_buf -> rx_fifo -> delivered | overwritten),
        // so that while bytes are moving a byte is never seen in two places:
        // `produced` is at least the sum of the others. Idle, it is equal.
        // The order must hold on the CPU too, not only in the source: each
        // counter a byte moves into is incremented with `Release` after the
        // byte left its place, and read here with `Acquire`, so a byte seen in
        // it cannot still be seen where it came from (the two lengths read
        // their indices with acquire too).
        let delivered = s.delivered.load(Acquire);
        let overwritten = s.overwritten_kfifo.load(Acquire);
        let queued_kfifo = self.rx_fifo.len();
        let dropped = s.dropped_fast_buf.load(Acquire);
        let queued_fast_buf = self.fast_buf.len();
        let produced = s.produced.load(Relaxed);
        writeln!(out, "produced: {}", produced)?;
        writeln!(out, "delivered: {}", delivered)?;
        writeln!(out, "dropped_fast_buf: {}", dropped)?;
        writeln!(out, "overwritten_kfifo: {}", overwritten)?;
        writeln!(out, "queued_fast_buf: {}", queued_fast_buf)?;
        writeln!(out, "queued_kfifo: {}", queued_kfifo)?;
        writeln!(out, "timer_overruns: {}", s.timer_overruns.load(Relaxed))?;
        writeln!(
            out,
            "bottom_half_runs: {}",
            s.bottom_half_runs.load(Relaxed)
        )?;
        writeln!(out, "work_runs: {}", s.work_runs.load(Relaxed))?;
        writeln!(out, "work_runs_empty: {}", s.work_runs_empty.load(Relaxed))?;
        writeln!(
            out,
            "invariant_failures: {}",
            s.invariant_failures.load(Relaxed)
        )?;
        for cpu in 0..nr_cpus() {
            writeln!(out, "top_half_cpu{}: {}", cpu, s.top_half_cpu.get(cpu))?;
            writeln!(
                out,
                "bottom_half_cpu{}: {}",
                cpu,
                s.bottom_half_cpu.get(cpu)
            )?;
            writeln!(out, "work_cpu{}: {}", cpu, s.work_cpu.get(cpu))?;
        }
        Ok(())
    }

    /// "0" or "reset": zero the counters, but keep the loss equation exact.
    ///
    /// The pipeline keeps running: a byte may be produced, moved, delivered
    /// or lost at any moment. So `produced` is not set to the bytes queued
    /// (a byte delivered between the two reads would be lost to the
    /// equation), but reduced by exactly what the reset takes out of
    /// `delivered`, `dropped_fast_buf` and `overwritten_kfifo`, each taken with
    /// one atomic swap: every increment is either taken here or stays in its
    /// counter, so the equation holds afterwards whatever raced. Idle, this
    /// leaves `produced` equal to the bytes still queued.
    /// `invariant_failures` is not reset: a bug, once seen, stays seen.
    fn write(&self, text: &[u8]) -> Result {
        if !is_reset(text) {
            return Err(EINVAL);
        }
        let s = &self.stats;
        let _files = s.files_lock.lock();
        let taken = [&s.delivered, &s.dropped_fast_buf, &s.overwritten_kfifo]
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(c.swap(0, Relaxed)));
        // Atomic subtraction wraps rather than panics; it cannot go below
        // zero anyway, since each byte is counted in `produced` first.
        s.produced.fetch_sub(taken, Relaxed);
        for c in [
            &s.dropped_unreported,
            &s.overwritten_unreported,
            &s.timer_overruns,
            &s.bottom_half_runs,
            &s.work_runs,
            &s.work_runs_empty,
        ] {
            c.store(0, Relaxed);
        }
        for p in [&s.top_half_cpu, &s.bottom_half_cpu, &s.work_cpu] {
            p.reset();
        }
        Ok(())
    }
}

/// `latency`: the four histograms, each a summary line and a bar chart.
impl DebugFile<{ crate::LATENCY_FILE }> for Simrupt {
    fn show(&self, out: &mut SeqWriter<'_>) -> fmt::Result {
        let s = &self.stats;
        let _files = s.files_lock.lock();
        s.top_half_ns.snapshot().render("top_half", out)?;
        s.top_to_bottom_ns
            .snapshot()
            .render("top_to_bottom_half", out)?;
        s.bottom_to_work_ns
            .snapshot()
            .render("bottom_half_to_work", out)?;
        s.produce_to_read_ns
            .snapshot()
            .render("produce_to_read", out)
    }

    /// "0" or "reset": empty the histograms.
    ///
    /// Records keep arriving meanwhile (from hard IRQ and from readers); one
    /// racing a reset may be kept or lost, and the next snapshot is consistent
    /// anyway (see [`Histogram::snapshot`]).
    fn write(&self, text: &[u8]) -> Result {
        if !is_reset(text) {
            return Err(EINVAL);
        }
        let s = &self.stats;
        let _files = s.files_lock.lock();
        for h in [
            &s.top_half_ns,
            &s.top_to_bottom_ns,
            &s.bottom_to_work_ns,
            &s.produce_to_read_ns,
        ] {
            h.reset();
        }
        Ok(())
    }
}

/// The measurement of each pipeline stage, one call per stage (see `simrupt.rs`).
impl Stats {
    /// The top half ran on `cpu` from `start` until now; returns how long, in ns.
    #[inline]
    pub(crate) fn top_half_ran(&self, cpu: u32, start: u64) -> u64 {
        let spent = crate::now_ns().saturating_sub(start);
        // `make bench`'s variants without statistics (see Kbuild).
        #[cfg(not(any(bench_variant = "no-stats", bench_variant = "bare")))]
        {
            self.top_half_cpu.inc(cpu);
            self.top_half_ns.record(spent);
        }
        spent
    }

    /// The top half is making `burst` bytes at `now`, and will schedule the bottom half.
    #[inline]
    pub(crate) fn produced(&self, burst: u32, now: u64) {
        #[cfg(not(any(bench_variant = "no-stats", bench_variant = "bare")))]
        {
            self.produced.fetch_add(u64::from(burst), Relaxed);
            Self::mark_pending(&self.bottom_half_pending_since, now);
        }
    }

    /// `dropped` of those bytes found `fast_buf` full.
    pub(crate) fn fast_buf_full(&self, dropped: u64) {
        // The work item reports them: the top half must not spend its time in printk.
        self.dropped_fast_buf.fetch_add(dropped, Release);
        self.dropped_unreported.fetch_add(dropped, Relaxed);
    }

    /// The bottom half started on `cpu` at `now`; it is about to queue the work.
    pub(crate) fn bottom_half_started(&self, cpu: u32, now: u64) {
        Self::record_wait(&self.bottom_half_pending_since, &self.top_to_bottom_ns, now);
        self.bottom_half_runs.fetch_add(1, Relaxed);
        self.bottom_half_cpu.inc(cpu);
        Self::mark_pending(&self.work_pending_since, now);
    }

    /// The work item started on `cpu` at `now`.
    pub(crate) fn work_started(&self, cpu: u32, now: u64) {
        Self::record_wait(&self.work_pending_since, &self.bottom_to_work_ns, now);
        self.work_runs.fetch_add(1, Relaxed);
        self.work_cpu.inc(cpu);
    }

    /// The work item found `fast_buf` empty: an earlier run had drained it.
    pub(crate) fn work_found_nothing(&self) {
        self.work_runs_empty.fetch_add(1, Relaxed);
    }

    /// The oldest byte of `rx_fifo` was overwritten to make room.
    pub(crate) fn kfifo_overwritten(&self) {
        self.overwritten_kfifo.fetch_add(1, Release);
        self.overwritten_unreported.fetch_add(1, Relaxed);
    }

    /// A reader took a byte `ns` nanoseconds after the top half made it.
    pub(crate) fn byte_read(&self, ns: u64) {
        self.produce_to_read_ns.record(ns);
    }

    /// A `read()` copied `n` bytes to user space.
    pub(crate) fn delivered(&self, n: usize) {
        self.delivered.fetch_add(n as u64, Release);
    }
}
