// SPDX-License-Identifier: GPL-2.0

//! Throughput of `fastbuf.rs` next to `rtrb`, `ringbuf` and crossbeam's `ArrayQueue`.
//!
//! One producer thread and one consumer thread move `u8` items through a
//! queue of capacity 4096, in three modes:
//!
//! - `single`: one `push` per item and one `pop` per item.
//! - `batch64-loop`: the producer offers 64 items at a time and the consumer
//!   takes up to 64 at a time, every queue through repeated single-item
//!   `push`/`pop` calls (`fastbuf.rs` and `ArrayQueue` have no slice API).
//! - `batch64-slice`: the same, through the crate's own slice API
//!   (`rtrb` chunks, `ringbuf` `push_slice`/`pop_slice`); only for the
//!   crates that have one.
//!
//! `fast_buf (per call)` is `fastbuf.rs` used the way the kernel module uses
//! it: a new handle from the unsafe `producer()`/`consumer()` for every item,
//! instead of one pair of handles from `split()` for the whole run.
//!
//! Each case is calibrated to about 0.3 s per run; then 7 rounds run every
//! case of a group once, in rotating order, so that a change in the load of
//! the machine hits all cases alike. The table gives items per second (min,
//! median, max), the ratio of each case's median to `fast_buf`'s in the same
//! group, and the median of the ratios of each round (a case and `fast_buf`
//! ran within a second of each other, so this one resists drifting load
//! better). The consumer checks the sum of what it received, so a queue
//! that lost or duplicated items would abort. Nothing is pinned to a CPU.

use std::hint::{black_box, spin_loop};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

#[path = "../../../../fastbuf.rs"]
#[expect(dead_code, reason = "the benchmark uses only the hot path")]
mod fastbuf;

/// Capacity of every queue.
const CAP: usize = 4096;
/// Items per batch in the batch modes.
const BATCH: usize = 64;
/// Measured runs per case.
const RUNS: usize = 7;
/// Target duration of one run.
const TARGET: Duration = Duration::from_millis(300);

/// Waits for the other thread: spins, then yields the CPU in case the other
/// thread is not running (the machine may be busy with other work).
#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 1024 {
        spin_loop();
    } else {
        *spins = 0;
        thread::yield_now();
    }
}

/// Sum of the item values `0..count` as `u8`, to check what arrived.
fn expected_sum(count: u64) -> u64 {
    let full = count / 256;
    let rest = count % 256;
    full * (255 * 256 / 2) + rest * rest.saturating_sub(1) / 2
}

/// Moves `count` items one at a time; returns the consumer's elapsed time.
fn single(
    count: u64,
    push: impl FnMut(u8) -> bool + Send,
    mut pop: impl FnMut() -> Option<u8>,
) -> Duration {
    let start = &Barrier::new(2);
    thread::scope(|s| {
        // The producer thread takes `push` (and the queue handle in it)
        // into a local of its own, where the compiler can keep the handle's
        // fields in registers.
        s.spawn(move || {
            let mut push = push;
            start.wait();
            for i in 0..count {
                let mut spins = 0;
                while !push(i as u8) {
                    backoff(&mut spins);
                }
            }
        });
        start.wait();
        let t0 = Instant::now();
        let (mut got, mut sum, mut spins) = (0u64, 0u64, 0);
        while got < count {
            match pop() {
                Some(v) => {
                    sum += u64::from(v);
                    got += 1;
                }
                None => backoff(&mut spins),
            }
        }
        let dt = t0.elapsed();
        assert_eq!(
            black_box(sum),
            expected_sum(count),
            "items lost or duplicated"
        );
        dt
    })
}

/// Moves `count` items (a multiple of `BATCH`) in batches: `push` writes a
/// prefix of the slice and returns its length, `pop` fills a prefix of the
/// buffer and returns its length.
fn batched(
    count: u64,
    push: impl FnMut(&[u8]) -> usize + Send,
    mut pop: impl FnMut(&mut [u8]) -> usize,
) -> Duration {
    let start = &Barrier::new(2);
    thread::scope(|s| {
        // As in `single`.
        s.spawn(move || {
            let mut push = push;
            let mut batch = [0u8; BATCH];
            start.wait();
            let mut i = 0u64;
            while i < count {
                for (k, slot) in batch.iter_mut().enumerate() {
                    *slot = (i + k as u64) as u8;
                }
                let (mut done, mut spins) = (0, 0);
                while done < BATCH {
                    let n = push(&batch[done..]);
                    if n == 0 {
                        backoff(&mut spins);
                    }
                    done += n;
                }
                i += BATCH as u64;
            }
        });
        start.wait();
        let t0 = Instant::now();
        let mut buf = [0u8; BATCH];
        let (mut got, mut sum, mut spins) = (0u64, 0u64, 0);
        while got < count {
            let n = pop(&mut buf);
            if n == 0 {
                backoff(&mut spins);
            }
            sum += buf[..n].iter().map(|&v| u64::from(v)).sum::<u64>();
            got += n as u64;
        }
        let dt = t0.elapsed();
        assert_eq!(
            black_box(sum),
            expected_sum(count),
            "items lost or duplicated"
        );
        dt
    })
}

/// Pushes a prefix of `items` with repeated single pushes; returns its length.
#[inline]
fn push_each(items: &[u8], mut push: impl FnMut(u8) -> bool) -> usize {
    let mut n = 0;
    for &v in items {
        if !push(v) {
            break;
        }
        n += 1;
    }
    n
}

/// Pops into a prefix of `out` with repeated single pops; returns its length.
#[inline]
fn pop_each(out: &mut [u8], mut pop: impl FnMut() -> Option<u8>) -> usize {
    let mut n = 0;
    while n < out.len() {
        match pop() {
            Some(v) => out[n] = v,
            None => break,
        }
        n += 1;
    }
    n
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Single,
    BatchLoop,
    BatchSlice,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::BatchLoop => "batch64-loop",
            Mode::BatchSlice => "batch64-slice",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Queue {
    FastBuf,
    FastBufPerCall,
    Rtrb,
    Ringbuf,
    Crossbeam,
}

impl Queue {
    fn name(self) -> &'static str {
        match self {
            Queue::FastBuf => "fast_buf",
            Queue::FastBufPerCall => "fast_buf (per call)",
            Queue::Rtrb => "rtrb",
            Queue::Ringbuf => "ringbuf",
            Queue::Crossbeam => "crossbeam",
        }
    }
}

/// Runs one transfer of `count` items through a fresh queue.
fn run_once(queue: Queue, mode: Mode, count: u64) -> Duration {
    match queue {
        Queue::FastBuf => {
            let mut ring = Box::new(fastbuf::FastBuf::<u8, CAP>::new());
            let (mut p, mut c) = ring.split();
            match mode {
                Mode::Single => single(count, move |v| p.push(v).is_ok(), move || c.pop()),
                Mode::BatchLoop => batched(
                    count,
                    move |s| push_each(s, |v| p.push(v).is_ok()),
                    move |o| pop_each(o, || c.pop()),
                ),
                Mode::BatchSlice => unreachable!("fast_buf has no slice API"),
            }
        }
        Queue::FastBufPerCall => {
            let ring = Box::new(fastbuf::FastBuf::<u8, CAP>::new());
            let ring = &*ring;
            match mode {
                Mode::Single => single(
                    count,
                    // SAFETY: Only the producer thread runs this closure, and
                    // each handle is dropped before the next is made.
                    move |v| unsafe { ring.producer() }.push(v).is_ok(),
                    // SAFETY: Likewise, only the consumer thread runs this one.
                    move || unsafe { ring.consumer() }.pop(),
                ),
                _ => unreachable!("only measured one item at a time"),
            }
        }
        Queue::Rtrb => {
            let (mut p, mut c) = rtrb::RingBuffer::<u8>::new(CAP);
            match mode {
                Mode::Single => single(count, move |v| p.push(v).is_ok(), move || c.pop().ok()),
                Mode::BatchLoop => batched(
                    count,
                    move |s| push_each(s, |v| p.push(v).is_ok()),
                    move |o| pop_each(o, || c.pop().ok()),
                ),
                Mode::BatchSlice => batched(
                    count,
                    move |s| {
                        let n = s.len().min(p.slots());
                        match p.write_chunk_uninit(n) {
                            Ok(chunk) if n > 0 => chunk.fill_from_iter(s.iter().copied()),
                            _ => 0,
                        }
                    },
                    move |o| {
                        let n = o.len().min(c.slots());
                        match c.read_chunk(n) {
                            Ok(chunk) if n > 0 => {
                                let (a, b) = chunk.as_slices();
                                o[..a.len()].copy_from_slice(a);
                                o[a.len()..n].copy_from_slice(b);
                                chunk.commit_all();
                                n
                            }
                            _ => 0,
                        }
                    },
                ),
            }
        }
        Queue::Ringbuf => {
            use ringbuf::traits::{Consumer, Producer, Split};
            let (mut p, mut c) = ringbuf::HeapRb::<u8>::new(CAP).split();
            match mode {
                Mode::Single => single(count, move |v| p.try_push(v).is_ok(), move || c.try_pop()),
                Mode::BatchLoop => batched(
                    count,
                    move |s| push_each(s, |v| p.try_push(v).is_ok()),
                    move |o| pop_each(o, || c.try_pop()),
                ),
                Mode::BatchSlice => {
                    batched(count, move |s| p.push_slice(s), move |o| c.pop_slice(o))
                }
            }
        }
        Queue::Crossbeam => {
            let q = crossbeam_queue::ArrayQueue::<u8>::new(CAP);
            let q = &q;
            match mode {
                Mode::Single => single(count, move |v| q.push(v).is_ok(), move || q.pop()),
                Mode::BatchLoop => batched(
                    count,
                    move |s| push_each(s, |v| q.push(v).is_ok()),
                    move |o| pop_each(o, || q.pop()),
                ),
                Mode::BatchSlice => unreachable!("ArrayQueue has no slice API"),
            }
        }
    }
}

/// Measures a group of cases that are compared with each other.
///
/// Each case is first calibrated to about `TARGET` per run; then `RUNS`
/// rounds run every case once, in rotating order, so that a change in the
/// machine's load affects all cases alike. Returns each case's items per
/// second, round by round.
fn measure_group(cases: &[(Mode, Queue)]) -> Vec<Vec<f64>> {
    let counts: Vec<u64> = cases
        .iter()
        .map(|&(mode, queue)| {
            let probe = 1u64 << 22;
            let rate = probe as f64 / run_once(queue, mode, probe).as_secs_f64();
            let count = ((rate * TARGET.as_secs_f64()) as u64).clamp(1 << 20, 1 << 32);
            count / BATCH as u64 * BATCH as u64
        })
        .collect();
    let mut rates = vec![Vec::with_capacity(RUNS); cases.len()];
    for round in 0..RUNS {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let (mode, queue) = cases[i];
            // Where the allocator puts a queue's parts relative to each other
            // and to cache-line pairs changes some queues' speed a lot (rtrb
            // by more than 2x here). A spacer allocation of a different size
            // in every round samples several placements instead of one.
            let spacer = black_box(vec![0u8; 16 + 48 * round]);
            let dt = run_once(queue, mode, counts[i]);
            drop(spacer);
            rates[i].push(counts[i] as f64 / dt.as_secs_f64());
            if std::env::var_os("FASTBUF_BENCH_VERBOSE").is_some() {
                eprintln!(
                    "round {round} {} {}: {} Mitems/s",
                    mode.name(),
                    queue.name(),
                    mitems(rates[i][round])
                );
            }
        }
    }
    rates
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn mitems(rate: f64) -> String {
    format!("{:.1}", rate / 1e6)
}

fn main() {
    use Mode::{BatchLoop, BatchSlice, Single};
    use Queue::{Crossbeam, FastBuf, FastBufPerCall, Ringbuf, Rtrb};
    // Optional arguments pick modes and queues by name, e.g. `single rtrb`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let picked = |name: &str, all: &[&str]| {
        let given: Vec<&String> = args.iter().filter(|a| all.contains(&a.as_str())).collect();
        given.is_empty() || given.iter().any(|a| a.as_str() == name)
    };
    let mode_names = [Single.name(), BatchLoop.name(), BatchSlice.name()];
    let queue_names = [
        FastBuf.name(),
        FastBufPerCall.name(),
        Rtrb.name(),
        Ringbuf.name(),
        Crossbeam.name(),
    ];
    let groups = [
        vec![
            (Single, FastBuf),
            (Single, FastBufPerCall),
            (Single, Rtrb),
            (Single, Ringbuf),
            (Single, Crossbeam),
        ],
        vec![
            (BatchLoop, FastBuf),
            (BatchLoop, Rtrb),
            (BatchLoop, Ringbuf),
            (BatchLoop, Crossbeam),
            (BatchSlice, Rtrb),
            (BatchSlice, Ringbuf),
        ],
    ];
    println!(
        "| mode | queue | min Mitems/s | median Mitems/s | max Mitems/s \
         | median / fast_buf median | median of per-round ratios |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for group in groups {
        let group: Vec<(Mode, Queue)> = group
            .into_iter()
            .filter(|&(m, q)| picked(m.name(), &mode_names) && picked(q.name(), &queue_names))
            .collect();
        let rates = measure_group(&group);
        // The group's first case is fast_buf's, when it was picked.
        let fast = match group.first() {
            Some(&(_, FastBuf)) => Some(&rates[0]),
            _ => None,
        };
        for (&(mode, queue), r) in group.iter().zip(&rates) {
            let (ratio, paired) = match fast {
                Some(f) => (
                    format!("{:.2}", median(r.clone()) / median(f.clone())),
                    format!(
                        "{:.2}",
                        median(r.iter().zip(f).map(|(x, y)| x / y).collect())
                    ),
                ),
                None => ("-".into(), "-".into()),
            };
            let note = if mode == BatchSlice {
                " (vs fast_buf batch64-loop)"
            } else {
                ""
            };
            let min = r.iter().copied().fold(f64::INFINITY, f64::min);
            let max = r.iter().copied().fold(0.0, f64::max);
            println!(
                "| {} | {} | {} | {} | {} | {}{note} | {}{note} |",
                mode.name(),
                queue.name(),
                mitems(min),
                mitems(median(r.clone())),
                mitems(max),
                ratio,
                paired,
            );
        }
    }
}
