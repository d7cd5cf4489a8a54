// SPDX-License-Identifier: GPL-2.0

//! `fast_buf`: a lock-free ring buffer for exactly one producer and one consumer.
//!
//! This is the Rust version of the `struct circ_buf fast_buf` in the C
//! `simrupt.c`. In simrupt the producer is the timer handler (it runs with
//! interrupts disabled and must not sleep or take a mutex), and the consumer is
//! `simrupt_work_func` on a workqueue (process context, serialised by the
//! consumer mutex). The two sides never lock each other out: they communicate
//! only through two indices, `head` and `tail`, and the ordering of the loads
//! and stores of those indices. The scheme is the one described in
//! [`Documentation/core-api/circular-buffers.rst`], in the section "Using
//! memory barriers with circular buffers".
//!
//! This file depends on `core` only, so the very same file is compiled into
//! the kernel module and into the host test crate in `tests/fastbuf/`, where it
//! is checked by unit tests, a property test, a two-thread stress test, Miri
//! and ThreadSanitizer.
//!
//! # Vocabulary
//!
//! - *slot*: one element of the storage array; it holds an item or garbage.
//! - *position*: a free-running counter (`0, 1, 2, ...`, wrapping at
//!   `usize::MAX`). Position `p` lives in slot `p & (N - 1)`, which is why `N`
//!   must be a power of two.
//! - `head`: the position the producer will write next. Only the producer
//!   stores to it.
//! - `tail`: the position the consumer will read next. Only the consumer
//!   stores to it.
//! - *publish*: a `Release` store of one's own index, which hands slots over
//!   to the other side.
//! - *observe*: an `Acquire` load of the other side's index, which takes slots
//!   over from the other side.
//!
//! ```text
//!            tail (consumer reads here)      head (producer writes here)
//!             |                               |
//!             v                               v
//!   +-----+-----+-----+-----+-----+-----+-----+-----+
//!   |     |  A  |  B  |  C  |  D  |  E  |  F  |     |   N = 8 slots
//!   +-----+-----+-----+-----+-----+-----+-----+-----+
//!     free  \__________ queued: head - tail = 6 ____/  free
//!
//!   Both indices only ever grow; the slot of a position is `position & (N - 1)`.
//!   Empty: head == tail.  Full: head - tail == N.  No slot is wasted.
//! ```
//!
//! # Invariants
//!
//! With all subtraction wrapping (`usize::wrapping_sub`):
//!
//! - `0 <= head - tail <= N` at every instant, as seen by either side.
//! - Only the producer stores `head`; only the consumer stores `tail`.
//! - The slots of positions `tail..head` hold initialised items that belong
//!   to the consumer; all other slots belong to the producer.
//! - The producer's cached copy of `tail` is never ahead of the real `tail`,
//!   and the consumer's cached copy of `head` is never ahead of the real
//!   `head`. A stale cache is therefore always on the safe side: it can only
//!   make the ring look fuller (to the producer) or emptier (to the consumer)
//!   than it really is.
//!
//! # Memory ordering
//!
//! Writing an item and moving an index are two separate stores. Without
//! ordering, another CPU (or the compiler) may see them in either order, and
//! the consumer could read a slot before the item in it has arrived. The ring
//! pairs every publish with an observe on the other side:
//!
//! - Producer: write the item into slot `head`, *then* `Release`-store
//!   `head + 1`. The release makes the item write visible no later than the
//!   new `head` (C: `smp_store_release(buffer->head, ...)`).
//! - Consumer: `Acquire`-load `head`, *then* read the slot. A consumer that
//!   sees the new `head` is guaranteed to also see the item written before it
//!   (C: `smp_load_acquire(buffer->head)`).
//! - In the other direction the roles swap: the consumer reads the item,
//!   *then* `Release`-stores `tail + 1`; the producer `Acquire`-loads `tail`
//!   before it overwrites that slot, so it can never clobber an item that the
//!   consumer is still copying out.
//!
//! Each side reads its own index with `Relaxed`: nobody else stores it, so
//! there is nothing to synchronise with.
//!
//! # Cache lines and cached indices
//!
//! ```text
//!   | head, cached_tail | tail, cached_head | slot 0 | slot 1 | ... | slot N-1 |
//!    \_ producer's part  \_ consumer's part  \_ storage
//!       (128 bytes)         (128 bytes)
//! ```
//!
//! A CPU that writes a cache line takes it away from every other CPU. So that
//! the producer and the consumer do not steal each other's line on every
//! operation, each side's index sits on its own line, next to that side's
//! cached copy of the *other* side's index. Lines are 64 bytes, but each part
//! is aligned to 128: x86 CPUs prefetch the neighbouring line of a 128-byte
//! pair along with the one they need, which would drag the other side's line
//! along too (the benchmark in `tests/fastbuf/bench` measured the difference).
//! The producer checks for "full" against its `cached_tail` and reads the real
//! `tail` (the consumer's line) only when the cache says full; the consumer
//! likewise reads the real `head` only when its `cached_head` says empty. In
//! the common case an operation touches no line that the other side writes,
//! apart from the slot itself.
//!
//! The cached indices live in the ring, because the kernel module creates a
//! short-lived [`Producer`] or [`Consumer`] on every call, and a cache kept
//! only in the handle would be lost each time. A handle loads its side's
//! index and cache when it is created and works on those copies, which the
//! compiler can keep in registers when one handle is used in a loop. It
//! writes the cache back to the ring whenever it refreshes it, and publishes
//! its index with every operation. This is why at most one `Producer` and one
//! `Consumer` may exist at a time: a second one would start from a copy that
//! the first one makes stale.
//!
//! [`Documentation/core-api/circular-buffers.rst`]: srctree/Documentation/core-api/circular-buffers.rst

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The producer's part: `head` and its copy of `tail`, alone in 128 bytes.
#[repr(align(128))]
struct ProducerLine {
    /// Position of the next item to be written. Stored only by the producer.
    head: AtomicUsize,
    /// The value of `tail` the producer saw last. Touched only by the producer.
    cached_tail: UnsafeCell<usize>,
}

/// The consumer's part: `tail` and its copy of `head`, alone in 128 bytes.
#[repr(align(128))]
struct ConsumerLine {
    /// Position of the next item to be read. Stored only by the consumer.
    tail: AtomicUsize,
    /// The value of `head` the consumer saw last. Touched only by the consumer.
    cached_head: UnsafeCell<usize>,
}

impl ProducerLine {
    /// The producer's line of an empty ring.
    const fn new() -> Self {
        Self {
            head: AtomicUsize::new(0),
            cached_tail: UnsafeCell::new(0),
        }
    }
}

impl ConsumerLine {
    /// The consumer's line of an empty ring.
    const fn new() -> Self {
        Self {
            tail: AtomicUsize::new(0),
            cached_head: UnsafeCell::new(0),
        }
    }
}

/// A single-producer, single-consumer ring of `N` items of type `T`.
///
/// `N` must be a power of two and at least 2; this is checked at compile time.
/// All `N` slots are usable. Items are `Copy`, so the ring never has to drop
/// anything, and discarding items (see [`Consumer::clear`]) is just moving an
/// index.
///
/// Use [`FastBuf::split`] when you hold the ring exclusively; use the unsafe
/// [`FastBuf::producer`] and [`FastBuf::consumer`] when the two sides run in
/// different contexts that each prove they are alone on their side.
///
/// # Invariants
///
/// See the module documentation: `0 <= head - tail <= N` (wrapping), only the
/// producer stores `head` and `cached_tail`, only the consumer stores `tail`
/// and `cached_head`, and the slots of positions `tail..head` are initialised.
// `repr(C)` keeps the fields in the order written, as in the diagram in the
// module documentation.
#[repr(C)]
pub(crate) struct FastBuf<T: Copy, const N: usize> {
    /// The producer's side, on its own cache line.
    prod: ProducerLine,
    /// The consumer's side, on its own cache line.
    cons: ConsumerLine,
    /// The storage. A slot is initialised exactly when its position is in
    /// `tail..head`.
    slots: [UnsafeCell<MaybeUninit<T>>; N],
}

// SAFETY: `FastBuf` is shared between the producer and the consumer, possibly
// on different CPUs. Items move from one to the other, hence `T: Send`. All
// shared state is either atomic (`head`, `tail`) or accessed by one side only:
// `cached_tail` by the single producer, `cached_head` by the single consumer
// (guaranteed by the safety contracts of `producer()` and `consumer()` and by
// `split()` taking `&mut self`), and each slot by whichever side currently owns
// it, ownership being handed over with the release/acquire pairs on `head` and
// `tail` described in the module documentation.
unsafe impl<T: Copy + Send, const N: usize> Sync for FastBuf<T, N> {}

impl<T: Copy, const N: usize> FastBuf<T, N> {
    /// `N - 1`; evaluating it checks at compile time that `N` is a power of two and at least 2.
    const MASK: usize = {
        assert!(
            N >= 2 && N.is_power_of_two(),
            "FastBuf: N must be a power of two and at least 2"
        );
        N - 1
    };

    /// Initialises an empty ring in place, without building it on the stack.
    ///
    /// Only the two index cache lines are written. The storage needs no
    /// initialisation because every slot is a `MaybeUninit`. Any previous
    /// content of `*this` is overwritten without being dropped (`FastBuf`
    /// owns nothing that needs dropping).
    ///
    /// # Safety
    ///
    /// `this` must be valid for writes of `size_of::<Self>()` bytes and
    /// properly aligned for `Self`. No reference to `*this` may be in use
    /// while this function runs. Afterwards `*this` is a valid, empty ring.
    pub(crate) unsafe fn init_in_place(this: *mut Self) {
        // Referencing `MASK` forces the compile-time check on `N`.
        let _ = Self::MASK;
        // SAFETY: The caller guarantees that `this` is valid for writes and
        // aligned, so the projections to its fields are in bounds and the
        // fields are aligned too. `addr_of_mut!` creates no reference to the
        // still uninitialised `*this`, and `write` does not read or drop the
        // old contents.
        unsafe {
            addr_of_mut!((*this).prod).write(ProducerLine::new());
            addr_of_mut!((*this).cons).write(ConsumerLine::new());
        }
        // INVARIANT: `head == tail == 0` and both caches are 0, so the ring is
        // empty and no slot needs to be initialised.
    }

    /// Returns the number of slots, `N`; all of them can hold an item.
    #[inline]
    pub(crate) const fn capacity(&self) -> usize {
        N
    }

    /// Returns the number of queued items.
    ///
    /// When the other side runs concurrently this is only a snapshot that may
    /// already be stale when it is returned, but it is never more than `N`.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // Load `tail` first, with `Acquire`: the consumer observed a `head` at
        // least as large before it published this `tail`, so the `head` loaded
        // next cannot be smaller and the difference cannot "go negative".
        let tail = self.cons.tail.load(Ordering::Acquire);
        let head = self.prod.head.load(Ordering::Acquire);
        // The consumer may have moved on and the producer refilled the ring
        // between the two loads, which could make the difference exceed `N`.
        head.wrapping_sub(tail).min(N)
    }

    /// Returns `true` if no item is queued (a snapshot, like [`FastBuf::len`]).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns a handle for the producing side.
    ///
    /// # Safety
    ///
    /// No two `Producer`s of the same ring may exist at the same time: the
    /// drop of one must happen before the creation of the next (program order
    /// on one CPU, a lock, or a guarantee such as "this timer callback never
    /// runs concurrently with itself" all provide this).
    #[inline]
    pub(crate) unsafe fn producer(&self) -> Producer<'_, T, N> {
        // SAFETY: Only the producer accesses `cached_tail`, and the caller
        // guarantees that no other producer exists.
        let cached_tail = unsafe { *self.prod.cached_tail.get() };
        // INVARIANT: The caller guarantees that this is the only producer.
        Producer {
            ring: self,
            // Only producers store `head`, and the previous one is gone, so
            // `Relaxed` reads the latest value.
            head: self.prod.head.load(Ordering::Relaxed),
            cached_tail,
        }
    }

    /// Returns a handle for the consuming side.
    ///
    /// # Safety
    ///
    /// No two `Consumer`s of the same ring may exist at the same time: the
    /// drop of one must happen before the creation of the next (for example
    /// because every consumer is created and dropped under the same mutex).
    #[inline]
    pub(crate) unsafe fn consumer(&self) -> Consumer<'_, T, N> {
        // SAFETY: Only the consumer accesses `cached_head`, and the caller
        // guarantees that no other consumer exists.
        let cached_head = unsafe { *self.cons.cached_head.get() };
        // INVARIANT: The caller guarantees that this is the only consumer.
        Consumer {
            ring: self,
            // Only consumers store `tail`, and the previous one is gone.
            tail: self.cons.tail.load(Ordering::Relaxed),
            cached_head,
        }
    }

    /// Returns a raw pointer to the slot of `position`.
    #[inline]
    fn slot(&self, position: usize) -> *mut MaybeUninit<T> {
        // `& MASK` keeps the index below `N`, so the compiler elides the
        // bounds check.
        self.slots[position & Self::MASK].get()
    }
}

// Building a ring by value and splitting it safely, for code that owns the
// ring. The kernel module instead builds its ring in place on the heap and
// hands the two sides to different contexts, so it uses none of this, and
// does not compile it (`MODULE` is set by Kbuild).
#[cfg(not(MODULE))]
impl<T: Copy, const N: usize> FastBuf<T, N> {
    /// Creates an empty ring by value.
    ///
    /// The ring is as large as its storage, so for big rings prefer
    /// [`FastBuf::init_in_place`] on memory that is already where the ring
    /// will live (the kernel stack is only 16 KiB).
    pub(crate) const fn new() -> Self {
        // Referencing `MASK` forces the compile-time check on `N`.
        let _ = Self::MASK;
        Self {
            prod: ProducerLine::new(),
            cons: ConsumerLine::new(),
            // SAFETY: Every slot is a `MaybeUninit<T>`, which is valid with any
            // content, initialised or not; wrapping it in `UnsafeCell` and
            // putting it in an array adds no requirement. So an uninitialised
            // array of slots is a valid value, and no slot is read before the
            // producer has written it.
            slots: unsafe { MaybeUninit::uninit().assume_init() },
        }
    }

    /// Splits the ring into its producer and consumer handles.
    ///
    /// This is safe because `&mut self` proves that nobody else holds a
    /// handle; the handles borrow the ring, so no other can be made while they
    /// live.
    pub(crate) fn split(&mut self) -> (Producer<'_, T, N>, Consumer<'_, T, N>) {
        let this: &Self = self;
        // SAFETY: `self` is borrowed mutably for as long as the two handles
        // live, so no other `Producer` or `Consumer` of this ring can exist or
        // be created meanwhile.
        unsafe { (this.producer(), this.consumer()) }
    }
}

#[cfg(test)]
impl<T: Copy, const N: usize> FastBuf<T, N> {
    /// Creates an empty ring whose positions start at `position` (host tests only).
    ///
    /// The positions wrap around at `usize::MAX`, which no test could reach
    /// by pushing items one at a time.
    pub(crate) const fn starting_at(position: usize) -> Self {
        let mut ring = Self::new();
        ring.prod = ProducerLine {
            head: AtomicUsize::new(position),
            cached_tail: UnsafeCell::new(position),
        };
        ring.cons = ConsumerLine {
            tail: AtomicUsize::new(position),
            cached_head: UnsafeCell::new(position),
        };
        ring
    }
}

/// The producing side of a [`FastBuf`]; the only code that stores `head`.
///
/// It is `Send` (when `T` is) but deliberately not `Clone`: there is one
/// producer.
pub(crate) struct Producer<'a, T: Copy, const N: usize> {
    /// The ring this handle produces into.
    ///
    /// INVARIANT: no other `Producer` of `ring` exists while this one does.
    ring: &'a FastBuf<T, N>,
    /// Working copy of `head`.
    ///
    /// INVARIANT: equal to `ring.prod.head` outside of [`Producer::push`].
    head: usize,
    /// Working copy of the ring's `cached_tail`.
    ///
    /// INVARIANT: equal to `ring.prod.cached_tail` outside of
    /// [`Producer::push`], so never ahead of the real `tail`.
    cached_tail: usize,
}

impl<T: Copy, const N: usize> Producer<'_, T, N> {
    /// Appends `value`, or gives it back as `Err(value)` if the ring is full.
    ///
    /// This never blocks and never sleeps, so it may be called with
    /// interrupts disabled. On `Err` the caller decides what to do with the
    /// item; simrupt drops it and counts it.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        let ring = self.ring;
        let head = self.head;
        if head.wrapping_sub(self.cached_tail) == N {
            // Full according to our cache: look at the real `tail`. `Acquire`
            // pairs with the consumer's `Release` store of `tail` in `pop` and
            // `clear`, so the consumer has finished reading every slot below
            // `tail` before we overwrite one of them.
            let tail = ring.cons.tail.load(Ordering::Acquire);
            self.cached_tail = tail;
            // SAFETY: Only the producer accesses `cached_tail`, and by the type
            // invariant this is the only producer.
            unsafe { *ring.prod.cached_tail.get() = tail };
            if head.wrapping_sub(tail) == N {
                return Err(value);
            }
        }
        debug_assert!(
            head.wrapping_sub(self.cached_tail) < N,
            "FastBuf: more than N items queued"
        );
        // SAFETY: `head - cached_tail < N`, and the real `tail` can only be
        // at or past `cached_tail`, so fewer than `N` items are queued and
        // position `head` is not in `tail..head`: its slot belongs to the
        // producer, and the consumer does not read it before we publish the
        // new `head` below. The pointer comes from an `UnsafeCell` in the
        // ring and is valid and aligned.
        unsafe { ring.slot(head).write(MaybeUninit::new(value)) };
        // Publish: `Release` orders the slot write above before the new
        // `head`, and pairs with the consumer's `Acquire` load of `head`.
        // INVARIANT: the slot of `head` is now initialised, so `tail..head + 1`
        // holds items, and `head + 1 - tail <= N`.
        self.head = head.wrapping_add(1);
        ring.prod.head.store(self.head, Ordering::Release);
        Ok(())
    }
}

/// The consuming side of a [`FastBuf`]; the only code that stores `tail`.
///
/// It is `Send` (when `T` is) but deliberately not `Clone`: there is one
/// consumer.
pub(crate) struct Consumer<'a, T: Copy, const N: usize> {
    /// The ring this handle consumes from.
    ///
    /// INVARIANT: no other `Consumer` of `ring` exists while this one does.
    ring: &'a FastBuf<T, N>,
    /// Working copy of `tail`.
    ///
    /// INVARIANT: equal to `ring.cons.tail` outside of this handle's methods.
    tail: usize,
    /// Working copy of the ring's `cached_head`.
    ///
    /// INVARIANT: equal to `ring.cons.cached_head` outside of this handle's
    /// methods, so never ahead of the real `head`.
    cached_head: usize,
}

impl<T: Copy, const N: usize> Consumer<'_, T, N> {
    /// Removes and returns the oldest item, or `None` if the ring is empty.
    ///
    /// This never blocks and never sleeps.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        let ring = self.ring;
        let tail = self.tail;
        if self.cached_head == tail {
            // Empty according to our cache: look at the real `head`. `Acquire`
            // pairs with the producer's `Release` store in `push`, so the item
            // written before that store is visible to the read below.
            let head = ring.prod.head.load(Ordering::Acquire);
            if head == tail {
                return None;
            }
            self.cached_head = head;
            // SAFETY: Only the consumer accesses `cached_head`, and by the type
            // invariant this is the only consumer.
            unsafe { *ring.cons.cached_head.get() = head };
        }
        debug_assert!(
            (1..=N).contains(&self.cached_head.wrapping_sub(tail)),
            "FastBuf: no item, or more than N items queued"
        );
        // SAFETY: `tail != cached_head` and `cached_head - tail <= N`, so
        // position `tail` is in `tail..cached_head`, a part of `tail..head`:
        // its slot holds an initialised item and belongs to the consumer until
        // we publish the new `tail` below. The item's write happens before
        // this read: the producer published it with `Release` before the
        // `Acquire` load that returned `cached_head`, done now, or earlier by
        // this handle or by a consumer whose drop happens before our creation
        // (the contract of `FastBuf::consumer`).
        let value = unsafe { ring.slot(tail).read().assume_init() };
        // Publish: `Release` orders the slot read above before the new
        // `tail`, so the producer cannot overwrite the slot while we read it.
        // INVARIANT: the slot of `tail` goes back to the producer.
        self.tail = tail.wrapping_add(1);
        ring.cons.tail.store(self.tail, Ordering::Release);
        Some(value)
    }

    /// Discards every item queued right now and returns how many there were.
    ///
    /// Items that the producer pushes concurrently may or may not be
    /// discarded, depending on which side wins the race; none is lost
    /// without being counted by either the return value or a later `pop`.
    ///
    /// Clearing is a consumer operation: discarding items means moving
    /// `tail`, and only the consumer stores `tail`. It sets `tail` to the
    /// `head` it observes. Resetting both indices to zero, as the C
    /// `fast_buf_clear()` does, would also store `head`, which is only safe
    /// once the producer has stopped.
    pub(crate) fn clear(&mut self) -> usize {
        let ring = self.ring;
        let tail = self.tail;
        // `Acquire`, like every consumer load of `head`. No slot is read here,
        // so nothing depends on it for correctness today, but it keeps the
        // rule "the consumer observes `head` with `Acquire`" without
        // exceptions and costs nothing on x86.
        let head = ring.prod.head.load(Ordering::Acquire);
        let discarded = head.wrapping_sub(tail);
        debug_assert!(discarded <= N, "FastBuf: more than N items queued");
        self.cached_head = head;
        // SAFETY: Only the consumer accesses `cached_head`, and by the type
        // invariant this is the only consumer.
        unsafe { *ring.cons.cached_head.get() = head };
        // Publish: `Release` orders our earlier slot reads (from `pop`) before
        // the producer may reuse those slots.
        // INVARIANT: `tail == head` as observed, so `tail..head` is empty and
        // all slots up to `head` go back to the producer. `T: Copy`, so
        // nothing has to be dropped.
        self.tail = head;
        ring.cons.tail.store(head, Ordering::Release);
        discarded
    }
}
