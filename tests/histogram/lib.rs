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
