// SPDX-License-Identifier: GPL-2.0

//! Lock-free latency histograms and per-CPU counters, for measuring the pipeline.
//!
//! Everything here may be updated from any context, hard IRQ included: each
//! update is a single atomic read-modify-write, never a lock. Readers take a
//! [`Snapshot`] that is exact when the pipeline is idle and approximately
//! consistent while it runs (each number is exact, but they are read one after
//! the other).
//!
//! Like `fastbuf.rs`, this file depends on `core` only, so the host test crate
//! in `tests/fastbuf/` compiles and tests the very same file.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of log2 buckets: bucket `i` holds values in `[2^(i-1), 2^i)`, bucket 0 holds 0.
pub(crate) const BUCKETS: usize = 64;

/// A log2-bucketed histogram of nanosecond values, updated lock-free.
///
/// # Invariants
///
/// `count` is the number of `record` calls since the last `reset`, and equals
/// the sum of `buckets` once every `record` in flight has returned.
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

/// The bucket a value falls in: the number of significant bits, capped.
pub(crate) fn bucket_of(value: u64) -> usize {
    let bits = (u64::BITS - value.leading_zeros()) as usize;
    bits.min(BUCKETS - 1)
}

/// The smallest value of bucket `i` (`0` for bucket 0).
pub(crate) fn bucket_low(i: usize) -> u64 {
    if i == 0 {
        0
    } else {
        1u64 << (i - 1)
    }
}

impl Histogram {
    /// An empty histogram.
    pub(crate) const fn new() -> Self {
        Self {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    /// Adds one value. Lock-free: callable from hard-IRQ context.
    pub(crate) fn record(&self, value: u64) {
        self.buckets[bucket_of(value)].fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
        self.min.fetch_min(value, Relaxed);
        self.max.fetch_max(value, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// Forgets every value.
    pub(crate) fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Relaxed);
        }
        self.count.store(0, Relaxed);
        self.sum.store(0, Relaxed);
        self.min.store(u64::MAX, Relaxed);
        self.max.store(0, Relaxed);
    }

    /// Copies the current state.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut buckets = [0u64; BUCKETS];
        for (out, b) in buckets.iter_mut().zip(&self.buckets) {
            *out = b.load(Relaxed);
        }
        Snapshot {
            count: buckets.iter().sum(),
            buckets,
            sum: self.sum.load(Relaxed),
            min: self.min.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }
}

/// A copy of a [`Histogram`] at one moment.
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
    /// Estimates the `q`-th quantile, `q` in per mille (500 = median, 990 = p99).
    ///
    /// The first and last ranks are `min` and `max`, exactly. Otherwise it
    /// finds the bucket holding the value of that rank and interpolates
    /// linearly inside it, then clamps to `[min, max]`: the estimate is in
    /// the same log2 bucket as the true value, and monotonic in `q`, so
    /// `min <= median <= p99 <= max` always holds.
    pub(crate) fn quantile(&self, q: u64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        // The rank (1-based) of the wanted value.
        let rank = (self.count * q).div_ceil(1000).max(1);
        // The extremes are known exactly.
        if rank == 1 {
            return self.min;
        }
        if rank >= self.count {
            return self.max;
        }
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n == 0 || below + n < rank {
                below += n;
                continue;
            }
            let low = bucket_low(i);
            let width = bucket_low(i + 1).saturating_sub(low).max(1);
            // Values of this bucket before the rank: in [0, n - 1].
            let before = rank - below - 1;
            // `width * before / n`, which stays inside the bucket, without
            // 128-bit division (the kernel has none).
            let offset = match width.checked_mul(before) {
                Some(product) => product / n,
                None => width / n * before,
            };
            let estimate = low.saturating_add(offset);
            return estimate.clamp(self.min, self.max);
        }
        self.max
    }

    /// Mean value, `0` if none.
    pub(crate) fn mean(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
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
            let bar = (n * 40).div_ceil(peak) as usize;
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

    /// The count for `cpu`.
    pub(crate) fn get(&self, cpu: usize) -> u64 {
        self.counts[cpu].load(Relaxed)
    }

    /// Sets every count to zero.
    pub(crate) fn reset(&self) {
        for c in &self.counts {
            c.store(0, Relaxed);
        }
    }
}
