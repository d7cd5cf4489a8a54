// SPDX-License-Identifier: GPL-2.0

//! Single-threaded tests of every operation and edge case of the ring.

use crate::fastbuf::FastBuf;
use core::mem::MaybeUninit;

#[test]
fn new_ring_is_empty() {
    let mut ring = FastBuf::<u32, 8>::new();
    assert!(ring.is_empty());
    assert_eq!(ring.len(), 0);
    let (_, mut cons) = ring.split();
    assert_eq!(cons.pop(), None);
    assert_eq!(cons.clear(), 0);
}

#[test]
fn capacity_is_n_and_fully_usable() {
    let mut ring = FastBuf::<u8, 16>::new();
    assert_eq!(ring.capacity(), 16);
    let (mut prod, _) = ring.split();
    for i in 0..16 {
        assert_eq!(prod.push(i), Ok(()), "slot {i} of 16 must be usable");
    }
    assert_eq!(ring.len(), 16);
}

#[test]
fn push_on_full_gives_the_value_back() {
    let mut ring = FastBuf::<u32, 4>::new();
    let (mut prod, mut cons) = ring.split();
    for i in 0..4 {
        prod.push(i).unwrap();
    }
    // The module drops and counts the item it gets back.
    assert_eq!(prod.push(100), Err(100));
    assert_eq!(prod.push(101), Err(101));
    // A failed push must not disturb what is queued.
    assert_eq!(cons.pop(), Some(0));
    assert_eq!(prod.push(4), Ok(()));
    assert_eq!(prod.push(102), Err(102));
    for i in 1..5 {
        assert_eq!(cons.pop(), Some(i));
    }
    assert_eq!(cons.pop(), None);
}

#[test]
fn fifo_order_and_len() {
    let mut ring = FastBuf::<u16, 8>::new();
    {
        let (mut prod, mut cons) = ring.split();
        for i in 0..5 {
            prod.push(i).unwrap();
        }
        assert_eq!(cons.pop(), Some(0));
        assert_eq!(cons.pop(), Some(1));
    }
    assert_eq!(ring.len(), 3);
    assert!(!ring.is_empty());
}

#[test]
fn wraps_around_many_times() {
    let mut ring = FastBuf::<u64, 8>::new();
    let (mut prod, mut cons) = ring.split();
    let mut next_in = 0u64;
    let mut next_out = 0u64;
    // Uneven batch sizes so the boundary between full and empty slots moves
    // to every slot; 1000 rounds go around the 8 slots hundreds of times.
    for round in 0..1000u64 {
        let batch = 1 + round % 8;
        for _ in 0..batch {
            prod.push(next_in).unwrap();
            next_in += 1;
        }
        for _ in 0..batch {
            assert_eq!(cons.pop(), Some(next_out));
            next_out += 1;
        }
        assert_eq!(cons.pop(), None);
    }
    assert!(next_in > 8 * 400);
}

#[test]
fn positions_wrap_at_usize_max() {
    // Start just before the counters overflow and cross the boundary.
    let mut ring = FastBuf::<u32, 4>::starting_at(usize::MAX - 5);
    assert!(ring.is_empty());
    {
        let (mut prod, mut cons) = ring.split();
        let mut next_out = 0;
        for i in 0..40 {
            prod.push(i).unwrap();
            if i % 3 == 2 {
                while let Some(v) = cons.pop() {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
            }
        }
        while let Some(v) = cons.pop() {
            assert_eq!(v, next_out);
            next_out += 1;
        }
        assert_eq!(next_out, 40);
        for i in 0..4 {
            prod.push(100 + i).unwrap();
        }
        assert_eq!(prod.push(200), Err(200));
    }
    assert_eq!(ring.len(), 4);
    let (_, mut cons) = ring.split();
    assert_eq!(cons.clear(), 4);
    assert_eq!(ring.len(), 0);
}

#[test]
fn clear_discards_everything_queued() {
    let mut ring = FastBuf::<u8, 8>::new();
    let (mut prod, mut cons) = ring.split();
    for i in 0..6 {
        prod.push(i).unwrap();
    }
    assert_eq!(cons.pop(), Some(0));
    assert_eq!(cons.clear(), 5);
    assert_eq!(cons.pop(), None);
    assert_eq!(cons.clear(), 0);
    // The ring is fully usable again and keeps FIFO order.
    for i in 10..18 {
        prod.push(i).unwrap();
    }
    assert_eq!(prod.push(18), Err(18));
    assert_eq!(cons.clear(), 8);
    prod.push(19).unwrap();
    assert_eq!(cons.pop(), Some(19));
}

#[test]
fn smallest_ring_n_2() {
    let mut ring = FastBuf::<i8, 2>::new();
    assert_eq!(ring.capacity(), 2);
    let (mut prod, mut cons) = ring.split();
    for round in 0..100i8 {
        prod.push(round).unwrap();
        prod.push(-round).unwrap();
        assert_eq!(prod.push(7), Err(7));
        assert_eq!(cons.pop(), Some(round));
        prod.push(round / 2).unwrap();
        assert_eq!(cons.pop(), Some(-round));
        assert_eq!(cons.pop(), Some(round / 2));
        assert_eq!(cons.pop(), None);
    }
}

#[test]
fn split_handles_see_each_other() {
    let mut ring = FastBuf::<u32, 4>::new();
    {
        let (mut prod, mut cons) = ring.split();
        prod.push(1).unwrap();
        assert_eq!(cons.pop(), Some(1));
        prod.push(2).unwrap();
    }
    // New handles after the old ones are gone continue where they left off.
    let (mut prod, mut cons) = ring.split();
    prod.push(3).unwrap();
    assert_eq!(cons.pop(), Some(2));
    assert_eq!(cons.pop(), Some(3));
}

#[test]
fn short_lived_handles_keep_the_cached_indices() {
    // The kernel module makes a new handle on every call, so the cached
    // indices must live in the ring, not in the handles.
    let ring = FastBuf::<u32, 4>::new();
    for i in 0..4 {
        // SAFETY: This thread is the only producer.
        assert_eq!(unsafe { ring.producer() }.push(i), Ok(()));
    }
    // SAFETY: This thread is the only producer.
    assert_eq!(unsafe { ring.producer() }.push(9), Err(9));
    for i in 0..4 {
        // SAFETY: This thread is the only consumer.
        assert_eq!(unsafe { ring.consumer() }.pop(), Some(i));
    }
    // SAFETY: This thread is the only consumer.
    assert_eq!(unsafe { ring.consumer() }.pop(), None);
    // SAFETY: This thread is the only producer.
    assert_eq!(unsafe { ring.producer() }.push(5), Ok(()));
    // SAFETY: This thread is the only consumer.
    assert_eq!(unsafe { ring.consumer() }.clear(), 1);
}

#[test]
fn init_in_place_makes_an_empty_ring() {
    // What the kernel module does: allocate uninitialised memory (there with
    // `KBox`), then initialise the ring where it is, never on the stack.
    let mut memory = Box::new(MaybeUninit::<FastBuf<u8, 65536>>::uninit());
    // SAFETY: `memory` is a live, aligned, exclusively owned allocation.
    unsafe { FastBuf::init_in_place(memory.as_mut_ptr()) };
    // SAFETY: `init_in_place` has initialised it.
    let ring = unsafe { memory.assume_init_mut() };
    assert!(ring.is_empty());
    assert_eq!(ring.capacity(), 65536);
    let (mut prod, mut cons) = ring.split();
    for i in 0..=255u8 {
        prod.push(i).unwrap();
    }
    for i in 0..=255u8 {
        assert_eq!(cons.pop(), Some(i));
    }
    assert_eq!(cons.pop(), None);
}

#[test]
fn init_in_place_resets_a_used_ring() {
    let mut ring = FastBuf::<u8, 4>::new();
    ring.split().0.push(1).unwrap();
    // SAFETY: `ring` is a valid, aligned local and no reference is in use.
    unsafe { FastBuf::init_in_place(&mut ring) };
    assert!(ring.is_empty());
}

#[test]
fn handles_are_send_but_not_clone() {
    fn assert_send<X: Send>() {}
    fn assert_sync<X: Sync>() {}
    assert_send::<crate::fastbuf::Producer<'static, u64, 8>>();
    assert_send::<crate::fastbuf::Consumer<'static, u64, 8>>();
    assert_sync::<FastBuf<u64, 8>>();
    // Not `Clone`: the trick below picks the inherent `is_clone` (true) only
    // when the type implements `Clone`.
    struct Probe<X>(core::marker::PhantomData<X>);
    trait NotClone {
        fn is_clone(&self) -> bool {
            false
        }
    }
    impl<X> NotClone for Probe<X> {}
    impl<X: Clone> Probe<X> {
        #[expect(dead_code, reason = "only resolved for Clone types")]
        fn is_clone(&self) -> bool {
            true
        }
    }
    assert!(
        !Probe::<crate::fastbuf::Producer<'static, u64, 8>>(core::marker::PhantomData).is_clone()
    );
    assert!(
        !Probe::<crate::fastbuf::Consumer<'static, u64, 8>>(core::marker::PhantomData).is_clone()
    );
}
