// SPDX-License-Identifier: GPL-2.0

//! Random push/pop/clear sequences, checked step by step against a `VecDeque` model.
//!
//! Every step uses fresh handles from `producer()`/`consumer()`, the way the
//! kernel module does, so the cached indices must survive in the ring.

use crate::fastbuf::FastBuf;
use proptest::prelude::*;
use std::collections::VecDeque;

/// One step of a sequence.
#[derive(Clone, Debug)]
enum Op {
    Push(u32),
    Pop,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly pushes and pops, so the ring spends time both full and empty.
    prop_oneof![
        10 => any::<u32>().prop_map(Op::Push),
        10 => Just(Op::Pop),
        1 => Just(Op::Clear),
    ]
}

/// Runs `ops` on a ring of `N` slots whose positions start at `start`.
fn check<const N: usize>(start: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let ring = FastBuf::<u32, N>::starting_at(start);
    let mut model = VecDeque::with_capacity(N);
    for op in ops {
        match *op {
            Op::Push(v) => {
                // SAFETY: This thread is the only producer.
                let got = unsafe { ring.producer() }.push(v);
                let want = if model.len() == N {
                    Err(v)
                } else {
                    model.push_back(v);
                    Ok(())
                };
                prop_assert_eq!(got, want);
            }
            Op::Pop => {
                // SAFETY: This thread is the only consumer.
                let got = unsafe { ring.consumer() }.pop();
                prop_assert_eq!(got, model.pop_front());
            }
            Op::Clear => {
                // SAFETY: This thread is the only consumer.
                let got = unsafe { ring.consumer() }.clear();
                prop_assert_eq!(got, model.len());
                model.clear();
            }
        }
        prop_assert_eq!(ring.len(), model.len());
        prop_assert_eq!(ring.is_empty(), model.is_empty());
        prop_assert!(ring.len() <= ring.capacity());
    }
    Ok(())
}

/// Start positions: zero, a random one, and just before the counters wrap.
fn start() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        any::<usize>(),
        (0..64usize).prop_map(|d| usize::MAX - d)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn matches_vecdeque_n2(start in start(), ops in prop::collection::vec(op(), 0..200)) {
        check::<2>(start, &ops)?;
    }

    #[test]
    fn matches_vecdeque_n8(start in start(), ops in prop::collection::vec(op(), 0..400)) {
        check::<8>(start, &ops)?;
    }

    #[test]
    fn matches_vecdeque_n64(start in start(), ops in prop::collection::vec(op(), 0..1000)) {
        check::<64>(start, &ops)?;
    }
}
