// SPDX-License-Identifier: GPL-2.0

//! Lock-free latency histograms and per-CPU counters, for measuring the pipeline.
//!
//! Everything here may be updated from any context, hard IRQ included: each
//! update is at most one atomic read-modify-write, never a lock. Readers take a
//! [`Snapshot`] that is exact when the pipeline is idle and approximately
//! consistent while it runs (each number is exact, but they are read one after
//! the other).
//!
//! # Races, and why rendering cannot panic
//!
//! A record is up to four separate atomic updates, and a reset is 67 separate
//! stores; nothing orders them against each other. So a reset racing a record
//! can keep part of the record and lose the rest: the bucket counted but `min`
//! and `max` back at their empty values, or `max` set but the bucket zeroed.
//! And a snapshot racing records may see a new `min` but not its bucket.
//! Rather than forbid these interleavings (which would need a lock in the hard
//! IRQ handler), [`Histogram::snapshot`] makes whatever it reads consistent:
//! the buckets are the truth, and `min`, `max` and the mean are brought
//! inside the range of the non-empty buckets (see [`Snapshot`]'s
//! `# Invariants`). A race may thus lose or keep a record, but never produce
//! a summary where `min > max`, and never a panic. Every computation on a
//! snapshot also saturates instead of overflowing, for any field values.
//!
//! Like `fastbuf.rs`, this file depends on `core` only, so the host test crate
//! in `tests/histogram/` compiles and tests the very same file.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of log2 buckets: bucket `i` holds values in `[2^(i-1), 2^i)`, bucket 0 holds 0.
pub(crate) const BUCKETS: usize = 64;

/// Number of steps of [`Histogram::record`] and of [`Histogram::reset`].
pub(crate) const STEPS: usize = 4;

/// A log2-bucketed histogram of nanosecond values, updated lock-free.
///
/// The number of values is the sum of `buckets` (there is no separate count
/// to fall out of step with it). `sum`, `min` and `max` are exact when no
/// `reset` raced a `record`; otherwise [`Histogram::snapshot`] repairs them.
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

/// The bucket a value falls in: the number of significant bits, capped.
pub(crate) fn bucket_of(value: u64) -> usize {
    let bits = (u64::BITS - value.leading_zeros()) as usize;
    bits.min(BUCKETS - 1)
}

/// The smallest value of bucket `i` (`0` for bucket 0; `i` is capped at the last bucket).
pub(crate) fn bucket_low(i: usize) -> u64 {
    match i.min(BUCKETS - 1) {
        0 => 0,
        i => 1u64 << (i - 1),
    }
}

/// The largest value of bucket `i` (`i` is capped at the last bucket, which
/// also holds every value too large for its own).
pub(crate) fn bucket_high(i: usize) -> u64 {
    match i.min(BUCKETS - 1) {
        0 => 0,
        i if i == BUCKETS - 1 => u64::MAX,
        i => (1u64 << i) - 1,
    }
}

impl Histogram {
    /// An empty histogram.
    pub(crate) const fn new() -> Self {
        Self {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    /// Adds one value. Lock-free: callable from hard-IRQ context.
    #[inline]
    pub(crate) fn record(&self, value: u64) {
        // The four steps written out, not a loop over `0..STEPS`: rustc kept
        // that loop as a loop (a counter and a compare chain to pick each
        // step, run at every record, the top half's included).
        const _: () = assert!(STEPS == 4, "Histogram::record: one call per step");
        self.record_step(value, 0);
        self.record_step(value, 1);
        self.record_step(value, 2);
        self.record_step(value, 3);
    }

    /// Step `step` (of [`STEPS`]) of [`Histogram::record`]: each is at most
    /// one atomic update, and another context may run between any two.
    /// Split out so that host tests can run every interleaving of the steps.
    /// Always inlined: `record`'s four calls then become the four updates, in
    /// the top half's own code (`.text.hot`), not four calls to another page.
    #[inline(always)]
    pub(crate) fn record_step(&self, value: u64, step: usize) {
        match step {
            0 => {
                if let Some(b) = self.buckets.get(bucket_of(value)) {
                    b.fetch_add(1, Relaxed);
                }
            }
            1 => {
                self.sum.fetch_add(value, Relaxed);
            }
            // `fetch_min`/`fetch_max` are a compare-and-swap loop, a locked
            // instruction each time; a plain load first skips it in the usual
            // case, a value that changes neither. Skipping is what the
            // update would have done at that load: it is as atomic as the
            // update itself (a reset racing it could lose it either way).
            2 => {
                if value < self.min.load(Relaxed) {
                    self.min.fetch_min(value, Relaxed);
                }
            }
            3 => {
                if value > self.max.load(Relaxed) {
                    self.max.fetch_max(value, Relaxed);
                }
            }
            _ => {}
        }
    }

    /// Forgets every value.
    ///
    /// Not atomic: a `record` running at the same time may be kept, lost, or
    /// kept in part (see the module documentation); [`Histogram::snapshot`]
    /// still gives a consistent summary afterwards.
    pub(crate) fn reset(&self) {
        for step in 0..STEPS {
            self.reset_step(step);
        }
    }

    /// Step `step` (of [`STEPS`]) of [`Histogram::reset`], as [`Histogram::record_step`].
    pub(crate) fn reset_step(&self, step: usize) {
        match step {
            0 => {
                for b in &self.buckets {
                    b.store(0, Relaxed);
                }
            }
            1 => self.sum.store(0, Relaxed),
            2 => self.min.store(u64::MAX, Relaxed),
            3 => self.max.store(0, Relaxed),
            _ => {}
        }
    }

    /// Copies the current state, made consistent (see [`Snapshot::from_raw`]).
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut buckets = [0u64; BUCKETS];
        for (out, b) in buckets.iter_mut().zip(&self.buckets) {
            *out = b.load(Relaxed);
        }
        Snapshot::from_raw(
            buckets,
            self.sum.load(Relaxed),
            self.min.load(Relaxed),
            self.max.load(Relaxed),
        )
    }
}

/// A copy of a [`Histogram`] at one moment.
///
/// # Invariants
///
/// Established by [`Snapshot::from_raw`], whatever it was given:
/// `count` is the sum of `buckets` (saturating). If `count == 0`, then
/// `sum == 0`, `min == u64::MAX` and `max == 0`. Otherwise `min` lies in the
/// lowest non-empty bucket, `max` in the highest, `min <= max`, and
/// `sum / count` lies in `[min, max]`.
pub(crate) struct Snapshot {
    /// Values per bucket.
    pub(crate) buckets: [u64; BUCKETS],
    /// Number of values (the sum of `buckets`).
    pub(crate) count: u64,
    /// Sum of the values.
    pub(crate) sum: u64,
    /// Smallest value, `u64::MAX` if none.
    pub(crate) min: u64,
    /// Largest value, `0` if none.
    pub(crate) max: u64,
}

impl Snapshot {
    /// Builds a consistent snapshot from fields read one after the other,
    /// while records and resets may have run in between.
    ///
    /// The buckets are taken as the truth. A `min` outside the lowest
    /// non-empty bucket (a record's bucket zeroed by a reset, or not seen yet,
    /// or its `min` lost to a reset) becomes that bucket's lowest value; a
    /// `max` outside the highest, that bucket's highest value. `sum` is brought
    /// into `[count * min, count * max]`, so that the mean lies in `[min, max]`.
    /// When nothing raced, `min`, `max` and `sum` are exact and kept as they are.
    pub(crate) fn from_raw(buckets: [u64; BUCKETS], sum: u64, min: u64, max: u64) -> Self {
        let count = buckets.iter().fold(0u64, |acc, &n| acc.saturating_add(n));
        let lowest = buckets.iter().position(|&n| n != 0);
        let highest = buckets.iter().rposition(|&n| n != 0);
        let (Some(lowest), Some(highest)) = (lowest, highest) else {
            // INVARIANT: Empty: the empty values, whatever was read.
            return Self {
                buckets,
                count: 0,
                sum: 0,
                min: u64::MAX,
                max: 0,
            };
        };
        let min = if bucket_of(min) == lowest {
            min
        } else {
            bucket_low(lowest)
        };
        let max = if bucket_of(max) == highest {
            max
        } else {
            bucket_high(highest)
        };
        // Both in the same bucket but crossed (a race kept a `min` of one
        // record and a `max` of another): the bucket's bounds are what is known.
        let (min, max) = if min <= max {
            (min, max)
        } else {
            (bucket_low(lowest), bucket_high(highest))
        };
        // INVARIANT: `lowest <= highest`, so `min <= max`, each in its bucket;
        // `sum` is within `count` times each, so the mean is within both.
        let sum = sum
            .max(count.saturating_mul(min))
            .min(count.saturating_mul(max));
        Self {
            buckets,
            count,
            sum,
            min,
            max,
        }
    }

    /// Estimates the `q`-th quantile, `q` in per mille (500 = median, 990 = p99).
    ///
    /// The first and last ranks are `min` and `max`, exactly. Otherwise it
    /// finds the bucket holding the value of that rank and interpolates
    /// linearly inside it, then clamps to `[min, max]`: the estimate is in
    /// the same log2 bucket as the true value, and monotonic in `q`, so
    /// `min <= median <= p99 <= max` always holds (given the type invariants).
    ///
    /// Never panics, whatever the fields hold: no `clamp` (which panics if
    /// `min > max`), and every operation saturates.
    pub(crate) fn quantile(&self, q: u64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        // The rank (1-based) of the wanted value.
        let rank = self.count.saturating_mul(q.min(1000)).div_ceil(1000).max(1);
        // The extremes are known exactly.
        if rank == 1 {
            return self.min;
        }
        if rank >= self.count {
            return self.max;
        }
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n == 0 || below.saturating_add(n) < rank {
                below = below.saturating_add(n);
                continue;
            }
            let low = bucket_low(i);
            let width = bucket_high(i).saturating_sub(low).saturating_add(1);
            // Values of this bucket before the rank: in [0, n - 1].
            let before = rank.saturating_sub(below).saturating_sub(1);
            // `width * before / n`, which stays inside the bucket, without
            // 128-bit division (the kernel has none).
            let offset = match width.checked_mul(before) {
                Some(product) => product / n,
                None => width / n * before,
            };
            let estimate = low.saturating_add(offset);
            // `clamp(min, max)` without its panic when `min > max`.
            return estimate.max(self.min).min(self.max);
        }
        self.max
    }

    /// Mean value, `0` if none; within `[min, max]` even if the fields are not.
    pub(crate) fn mean(&self) -> u64 {
        match self.sum.checked_div(self.count) {
            Some(mean) => mean.max(self.min).min(self.max),
            None => 0,
        }
    }

    /// Writes the summary line and a text bar chart of the non-empty buckets.
    pub(crate) fn render(&self, name: &str, out: &mut impl Write) -> fmt::Result {
        let (min, max) = if self.count == 0 {
            (0, 0)
        } else {
            (self.min, self.max)
        };
        writeln!(
            out,
            "{}: count {} min {} median {} p99 {} max {} mean {} (ns)",
            name,
            self.count,
            min,
            self.quantile(500),
            self.quantile(990),
            max,
            self.mean()
        )?;
        let peak = self.buckets.iter().copied().max().unwrap_or(0);
        if peak == 0 {
            return Ok(());
        }
        for (i, &n) in self.buckets.iter().enumerate().filter(|(_, &n)| n != 0) {
            let bar = n.saturating_mul(40).div_ceil(peak).min(40) as usize;
            write!(out, "  {:>12} ns ", Ns(bucket_low(i)))?;
            for _ in 0..bar {
                out.write_char('#')?;
            }
            writeln!(out, " {}", n)?;
        }
        Ok(())
    }
}

/// Formats a bucket's lower bound compactly: `512`, `64K`, `16M`, `2G` (powers of 1024).
struct Ns(u64);

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = [0u8; 24];
        let text = {
            let mut w = Buf {
                buf: &mut s,
                len: 0,
            };
            let (v, unit) = match self.0 {
                v if v >= 1 << 30 => (v >> 30, "G"),
                v if v >= 1 << 20 => (v >> 20, "M"),
                v if v >= 1 << 10 => (v >> 10, "K"),
                v => (v, ""),
            };
            write!(w, ">={}{}", v, unit)?;
            w.len
        };
        // The text is ASCII written just above.
        f.pad(core::str::from_utf8(&s[..text]).map_err(|_| fmt::Error)?)
    }
}

/// A tiny fixed-size `fmt::Write` target.
struct Buf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Per-CPU event counts for one stage, for the CPUs `0..MAX_CPUS`.
pub(crate) struct PerCpu {
    counts: [AtomicU64; MAX_CPUS],
}

/// How many CPUs [`PerCpu`] tracks; events on higher CPUs count in the last slot.
pub(crate) const MAX_CPUS: usize = 64;

impl PerCpu {
    /// All zero.
    pub(crate) const fn new() -> Self {
        Self {
            counts: [const { AtomicU64::new(0) }; MAX_CPUS],
        }
    }

    /// Counts one event on `cpu`.
    pub(crate) fn inc(&self, cpu: u32) {
        let i = (cpu as usize).min(MAX_CPUS - 1);
        self.counts[i].fetch_add(1, Relaxed);
    }

    /// The count for `cpu` (`0` beyond [`MAX_CPUS`]).
    pub(crate) fn get(&self, cpu: usize) -> u64 {
        self.counts.get(cpu).map_or(0, |c| c.load(Relaxed))
    }

    /// Sets every count to zero.
    pub(crate) fn reset(&self) {
        for c in &self.counts {
            c.store(0, Relaxed);
        }
    }
}
