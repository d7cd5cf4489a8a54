// SPDX-License-Identifier: GPL-2.0
//! Host tests of `histogram.rs`: the module's own file, compiled here unchanged.
#![allow(dead_code)]

#[path = "../../histogram.rs"]
pub mod histogram;

#[cfg(test)]
mod tests {
    use super::histogram::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(2), 2);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(4), 3);
        assert_eq!(bucket_of(1023), 10);
        assert_eq!(bucket_of(1024), 11);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for i in 1..BUCKETS - 1 {
            assert_eq!(bucket_of(bucket_low(i)), i, "low bound of bucket {i}");
            assert_eq!(
                bucket_of(bucket_low(i + 1) - 1),
                i,
                "high bound of bucket {i}"
            );
        }
    }

    #[test]
    fn empty_histogram() {
        let h = Histogram::new();
        let s = h.snapshot();
        assert_eq!(s.count, 0);
        assert_eq!(s.quantile(500), 0);
        assert_eq!(s.mean(), 0);
        let mut out = String::new();
        s.render("x", &mut out).unwrap();
        assert_eq!(out, "x: count 0 min 0 median 0 p99 0 max 0 mean 0 (ns)\n");
    }

    #[test]
    fn single_value_is_every_quantile() {
        let h = Histogram::new();
        h.record(3000);
        let s = h.snapshot();
        assert_eq!((s.count, s.min, s.max, s.mean()), (1, 3000, 3000, 3000));
        for q in [1, 500, 990, 1000] {
            assert_eq!(s.quantile(q), 3000);
        }
    }

    #[test]
    fn median_and_p99_land_in_the_right_bucket() {
        let h = Histogram::new();
        for _ in 0..99 {
            h.record(1000); // bucket [512, 1024)
        }
        h.record(1_000_000); // bucket [2^19, 2^20)
        let s = h.snapshot();
        let median = s.quantile(500);
        assert!((512..1024).contains(&median), "median {median}");
        assert!(
            (512..1024).contains(&s.quantile(990)),
            "p99 of 100 values is the 99th"
        );
        assert_eq!(s.quantile(1000), 1_000_000);
    }

    #[test]
    fn render_draws_bars_for_nonempty_buckets() {
        let h = Histogram::new();
        for v in [100, 100, 100, 5000] {
            h.record(v);
        }
        let mut out = String::new();
        h.snapshot().render("lat", &mut out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("lat: count 4 min 100 "), "{out}");
        assert_eq!(lines.len(), 3, "summary + two buckets: {out}");
        assert!(
            lines[1].contains(">=64 ns") && lines[1].ends_with(" 3"),
            "{out}"
        );
        assert!(
            lines[2].contains(">=4K ns") && lines[2].ends_with(" 1"),
            "{out}"
        );
        let bars = |l: &str| l.chars().filter(|&c| c == '#').count();
        assert_eq!(bars(lines[1]), 40);
        assert_eq!(bars(lines[2]), 14);
    }

    #[test]
    fn reset_forgets_everything() {
        let h = Histogram::new();
        h.record(7);
        h.reset();
        let s = h.snapshot();
        assert_eq!((s.count, s.sum, s.max), (0, 0, 0));
        assert_eq!(s.min, u64::MAX);
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let h = std::sync::Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..25_000u64 {
                        h.record(i * (t + 1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = h.snapshot();
        assert_eq!(s.count, 100_000);
        assert_eq!(s.min, 0);
        assert_eq!(s.max, 24_999 * 4);
    }

    #[test]
    fn per_cpu_counts_and_clamps() {
        let p = PerCpu::new();
        p.inc(0);
        p.inc(0);
        p.inc(1);
        p.inc(1000); // beyond MAX_CPUS: counted in the last slot
        assert_eq!((p.get(0), p.get(1), p.get(MAX_CPUS - 1)), (2, 1, 1));
        p.reset();
        assert_eq!(p.get(0), 0);
    }

    /// Checks everything a reader of the `latency` file relies on, from the
    /// rendered text itself: the summary is ordered, the mean is inside it,
    /// and the bars add up to the count.
    fn assert_consistent(s: &Snapshot, context: &str) {
        let mut out = String::new();
        s.render("h", &mut out).unwrap();
        let mut lines = out.lines();
        let summary = lines.next().unwrap();
        let f: Vec<u64> = summary
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [count, min, median, p99, max, mean] = f[..] else {
            panic!("{context}: bad summary {summary}");
        };
        assert!(
            min <= median && median <= p99 && p99 <= max,
            "{context}: {summary}"
        );
        assert!(min <= mean && mean <= max, "{context}: {summary}");
        let bars = lines
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .fold(0u64, u64::saturating_add);
        assert_eq!(bars, count, "{context}: {out}");
        if count == 0 {
            assert_eq!((min, max, mean), (0, 0, 0), "{context}: {summary}");
        } else {
            assert!(
                bucket_of(s.min) == s.buckets.iter().position(|&n| n != 0).unwrap(),
                "{context}: min outside the lowest bucket: {summary}"
            );
        }
    }

    /// Runs one interleaving: `order[i]` says which actor takes its next step
    /// (0 = the reset, 1.. = the records of `values`). Snapshots after every
    /// step must be consistent; returns the final snapshot.
    fn run_interleaving(prior: &[u64], values: &[u64], order: &[usize]) -> Snapshot {
        let h = Histogram::new();
        for &v in prior {
            h.record(v);
        }
        let mut next = vec![0usize; values.len() + 1];
        for (i, &actor) in order.iter().enumerate() {
            let step = next[actor];
            next[actor] += 1;
            if actor == 0 {
                h.reset_step(step);
            } else {
                h.record_step(values[actor - 1], step);
            }
            assert_consistent(
                &h.snapshot(),
                &format!("{prior:?} {values:?} {order:?} after {i}"),
            );
        }
        h.snapshot()
    }

    /// Every ordering of `counts[a]` steps of each actor `a`.
    fn interleavings(counts: &mut [usize], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if counts.iter().all(|&c| c == 0) {
            out.push(prefix.clone());
            return;
        }
        for a in 0..counts.len() {
            if counts[a] > 0 {
                counts[a] -= 1;
                prefix.push(a);
                interleavings(counts, prefix, out);
                prefix.pop();
                counts[a] += 1;
            }
        }
    }

    /// Every interleaving of the steps of a reset with those of one or two
    /// records, from several starting states: no panic, every intermediate
    /// summary consistent, and a record that starts after the reset ended is
    /// kept exactly. (Before the fix, the order "record's bucket, reset,
    /// record's min and max" gave min > max and `clamp` panicked.)
    #[test]
    fn reset_racing_records_every_interleaving() {
        let priors: [&[u64]; 2] = [&[], &[300, 70_000, 1 << 40]];
        let records: [&[u64]; 4] = [&[0], &[1000], &[1000, 3], &[1 << 62, 700]];
        let mut runs = 0;
        for prior in priors {
            for values in records {
                let mut counts = vec![STEPS; values.len() + 1];
                let mut orders = Vec::new();
                interleavings(&mut counts, &mut Vec::new(), &mut orders);
                for order in &orders {
                    let s = run_interleaving(prior, values, order);
                    runs += 1;
                    // Records wholly after the reset are kept, exactly.
                    let reset_end = order.iter().rposition(|&a| a == 0).unwrap();
                    let after: Vec<u64> = (1..=values.len())
                        .filter(|&a| order.iter().position(|&x| x == a).unwrap() > reset_end)
                        .map(|a| values[a - 1])
                        .collect();
                    assert!(s.count as usize >= after.len(), "{order:?}");
                    assert!(s.count as usize <= values.len(), "{order:?}");
                    if after.len() == values.len() {
                        assert_eq!(s.min, *after.iter().min().unwrap(), "{order:?}");
                        assert_eq!(s.max, *after.iter().max().unwrap(), "{order:?}");
                    }
                }
            }
        }
        assert!(runs > 30_000, "only {runs} interleavings");
    }

    /// Whatever the raw fields hold, a snapshot made from them is consistent
    /// and renders without panicking.
    #[test]
    fn from_raw_repairs_anything() {
        let cases: [(u64, u64, u64); 6] = [
            (u64::MAX, 0, 0),
            (2000, 600, 1),
            (700, 600, u64::MAX),
            (0, u64::MAX, 5),
            (1 << 63, 1, 0),
            (600, 600, 600),
        ];
        for (min, max, sum) in cases {
            for fill in [
                &[][..],
                &[(10usize, 3u64)],
                &[(0, 1), (63, u64::MAX)],
                &[(10, 1), (11, 2)],
            ] {
                let mut buckets = [0u64; BUCKETS];
                for &(i, n) in fill {
                    buckets[i] = n;
                }
                let s = Snapshot::from_raw(buckets, sum, min, max);
                assert_consistent(&s, &format!("min {min} max {max} sum {sum} {fill:?}"));
            }
        }
    }

    /// Threads record, reset and render at once, as the pipeline, a root
    /// shell writing `latency` and a reader of it do: every rendered summary
    /// must be consistent, and nothing may panic. Shorter under Miri.
    #[test]
    fn stress_record_reset_render() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        // Under Miri every step is interpreted: a few rounds explore its
        // weak-memory and scheduling choices, and detect data races and UB.
        let rounds = if cfg!(miri) { 4 } else { 300_000 };
        let h = Arc::new(Histogram::new());
        let stop = Arc::new(AtomicBool::new(false));
        let recorders: Vec<_> = (0..2u64)
            .map(|t| {
                let (h, stop) = (h.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut x = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(t + 1);
                    while !stop.load(Ordering::Relaxed) {
                        // xorshift: values over many buckets, and equal values.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        h.record(x >> (x % 64));
                    }
                })
            })
            .collect();
        let resetter = {
            let (h, stop) = (h.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    h.reset();
                }
            })
        };
        for i in 0..rounds {
            assert_consistent(&h.snapshot(), &format!("round {i}"));
        }
        stop.store(true, Ordering::Relaxed);
        for t in recorders {
            t.join().unwrap();
        }
        resetter.join().unwrap();
        // And quiet again, the histogram a race left behind is consistent.
        assert_consistent(&h.snapshot(), "after the threads");
    }

    proptest! {
        /// min <= median <= p99 <= max, quantiles are monotonic and within
        /// one bucket of the true value.
        #[test]
        fn quantiles_are_ordered_and_close(values in prop::collection::vec(0u64..1u64 << 40, 1..300)) {
            let h = Histogram::new();
            for &v in &values {
                h.record(v);
            }
            let s = h.snapshot();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            prop_assert_eq!(s.count, values.len() as u64);
            prop_assert_eq!(s.min, sorted[0]);
            prop_assert_eq!(s.max, *sorted.last().unwrap());
            let mut last = s.min;
            for q in [1, 100, 250, 500, 750, 900, 990, 999, 1000] {
                let est = s.quantile(q);
                prop_assert!(est >= last, "quantile {} = {} < previous {}", q, est, last);
                prop_assert!(est <= s.max);
                last = est;
                // The true value of that rank is in the same log2 bucket.
                let rank = ((values.len() as u64 * q).div_ceil(1000)).max(1) as usize;
                let truth = sorted[rank - 1];
                prop_assert_eq!(bucket_of(est), bucket_of(truth), "q {} est {} truth {}", q, est, truth);
            }
        }
    }
}
