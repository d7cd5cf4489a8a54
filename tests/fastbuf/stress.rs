// SPDX-License-Identifier: GPL-2.0

//! Two threads move a long, strictly increasing sequence through a small ring.
//!
//! The consumer checks that it receives every value exactly once and in
//! order: a missing `Release`/`Acquire`, a wrong index or a lost cache update
//! shows up as a wrong value, a gap or a duplicate. Miri and ThreadSanitizer
//! run the same tests with fewer items.

use crate::fastbuf::FastBuf;
use std::thread;

/// Number of values to send: `full` natively, far fewer under Miri.
///
/// `FASTBUF_STRESS_ITEMS` overrides it (run.sh uses that under
/// ThreadSanitizer, which is slow).
fn item_count(full: u64) -> u64 {
    if let Some(n) = std::env::var("FASTBUF_STRESS_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if cfg!(miri) {
        2_000
    } else {
        full
    }
}

/// Waits for the other thread: spins briefly, then gives up the CPU.
///
/// Under Miri, spinning only burns interpreter time, so it always yields.
fn backoff(attempt: &mut u32) {
    *attempt += 1;
    if cfg!(miri) || *attempt > 64 {
        thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

/// Pushes `0..count` in order; returns how many pushes found the ring full.
fn produce(count: u64, mut push: impl FnMut(u64) -> Result<(), u64>) -> u64 {
    let mut full = 0;
    for v in 0..count {
        let mut attempt = 0;
        while let Err(back) = push(v) {
            assert_eq!(back, v, "a failed push must give the value back");
            full += 1;
            backoff(&mut attempt);
        }
    }
    full
}

/// Pops until `count` values arrived; each must be the next in sequence.
fn consume(count: u64, mut pop: impl FnMut() -> Option<u64>, mut every_4096: impl FnMut()) {
    let mut expected = 0;
    while expected < count {
        let mut attempt = 0;
        loop {
            if let Some(v) = pop() {
                assert_eq!(v, expected, "values must arrive exactly once, in order");
                break;
            }
            backoff(&mut attempt);
        }
        expected += 1;
        if expected % 4096 == 0 {
            every_4096();
        }
    }
    assert_eq!(pop(), None, "no value may arrive twice");
}

fn report(what: &str, count: u64, full: u64) {
    let mode = if cfg!(miri) {
        " (reduced count under Miri)"
    } else {
        ""
    };
    eprintln!("{what}: {count} values arrived in order{mode}; {full} pushes found the ring full");
}

/// The handles from `split()`, each moved to its thread.
fn run_split<const N: usize>(count: u64) {
    let mut ring = FastBuf::<u64, N>::new();
    let (mut prod, mut cons) = ring.split();
    let full = thread::scope(|s| {
        let producer = s.spawn(move || produce(count, |v| prod.push(v)));
        consume(count, || cons.pop(), || {});
        producer.join().unwrap()
    });
    report(&format!("split, N={N}"), count, full);
}

/// A new handle for every operation, as the kernel module does, with `len()`
/// checked by the consumer on the side.
fn run_per_call<const N: usize>(count: u64) {
    let ring = FastBuf::<u64, N>::new();
    let ring = &ring;
    let full = thread::scope(|s| {
        let producer = s.spawn(move || {
            // SAFETY: This thread is the only producer.
            produce(count, |v| unsafe { ring.producer() }.push(v))
        });
        consume(
            count,
            // SAFETY: This thread is the only consumer.
            || unsafe { ring.consumer() }.pop(),
            || assert!(ring.len() <= N),
        );
        producer.join().unwrap()
    });
    report(&format!("per-call handles, N={N}"), count, full);
}

#[test]
fn stress_split_n64() {
    run_split::<64>(item_count(10_000_000));
}

#[test]
fn stress_per_call_handles_n64() {
    run_per_call::<64>(item_count(10_000_000));
}

#[test]
fn stress_per_call_handles_n2() {
    run_per_call::<2>(item_count(1_000_000));
}

#[test]
fn stress_clear_races_with_push() {
    // The consumer alternates pop and clear while the producer pushes: every
    // value is either popped or counted by clear, in order, none twice.
    let count = item_count(2_000_000);
    let ring = FastBuf::<u64, 16>::new();
    let ring = &ring;
    thread::scope(|s| {
        let producer = s.spawn(move || {
            // SAFETY: This thread is the only producer.
            produce(count, |v| unsafe { ring.producer() }.push(v))
        });
        let mut seen = 0u64; // popped or cleared
        let mut last_popped = None;
        let mut round = 0u32;
        while seen < count {
            round = round.wrapping_add(1);
            // SAFETY: This thread is the only consumer.
            let mut cons = unsafe { ring.consumer() };
            if round % 8 == 0 {
                seen += cons.clear() as u64;
            } else if let Some(v) = cons.pop() {
                assert_eq!(v, seen, "a popped value must follow the cleared ones");
                assert!(last_popped < Some(v));
                last_popped = Some(v);
                seen += 1;
            } else {
                thread::yield_now();
            }
        }
        assert_eq!(seen, count);
        producer.join().unwrap();
    });
}
