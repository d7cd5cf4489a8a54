// SPDX-License-Identifier: GPL-2.0

//! The kernel's FIFO, `kfifo`, as `rx_fifo` (bytes) and `rx_times` (timestamps) use it.
//!
//! C: `linux/kfifo.h`, `lib/kfifo.c`. The `kfifo_*()` API is made of macros
//! over `struct __kfifo` and a few exported functions. Rust reaches it only
//! through `helpers.c` (`simrupt_kfifo_*`), which the C compiler checks
//! against the real header; this file never mirrors the structure's layout.
//! Upstream Rust (Linux 7.3 included) has no kfifo wrapper.
//!
//! A kfifo is safe without a lock between *one* writer and *one* reader: the
//! writer only moves `in`, the reader only moves `out`. Each side's
//! `smp_wmb()` in `lib/kfifo.c` orders its *stores*: the writer's data copy
//! before its `in`, the reader's copy-out before its `out`. The loads on the
//! other side (`in` then the data; `out` then the free slots) have no
//! `smp_rmb()` there: kfifo relies on the architecture for them, which x86, a
//! total-store-order machine that does not reorder loads with loads, gives.
//! The two roles are tokens here, [`KfifoIn`] and [`KfifoOut`]: exactly one
//! of each exists per [`Kfifo`], each names its own fifo by a number no other
//! fifo ever gets, and every operation takes `&mut` of its token, so the lock
//! that owns the token (simrupt's `producer_lock` and `rx_out_lock`) is what
//! makes each role single.

// The loads on the other side are ordered by x86 itself (see above); on an
// architecture that reorders loads, a reader could copy out a slot before the
// writer's data reached it. Refuse to build there rather than be unsound.
#[cfg(not(target_arch = "x86_64"))]
compile_error!("kapi::kfifo relies on x86's load ordering; add the barriers before porting");

use super::helpers::{self, RawKfifo};
use core::marker::PhantomData;
use core::mem::{size_of, MaybeUninit};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::ffi::{c_uint, c_ulong};
use kernel::{
    error::code::{EFAULT, EINVAL, ENOMEM},
    prelude::*,
};

/// A kfifo of `T` (C's `DECLARE_KFIFO_PTR(fifo, T)` + `kfifo_alloc()`).
///
/// # Invariants
///
/// - `raw` came from a successful `simrupt_kfifo_alloc(capacity, size_of::<T>(),
///   vmalloc)`, is freed only by `Drop`, and holds exactly `capacity` elements.
/// - `id` was taken from [`NEXT_ID`] by this fifo's constructor: no other
///   fifo, live or freed, before or after, has the same `id`.
/// - Exactly one [`KfifoIn`] and one [`KfifoOut`] carry `id`; only the holder
///   of the [`KfifoIn`] moves `in`, only the holder of the [`KfifoOut`] moves
///   `out`. A token that outlives its fifo matches no other.
pub(crate) struct Kfifo<T: Copy> {
    raw: NonNull<RawKfifo>,
    id: u64,
    capacity: u32,
    vmalloc: bool,
    // `fn(T) -> T` makes the fifo invariant in `T`: elements go in and come
    // out through `&self`, so a `Kfifo<&'static u32>` must not pass for a
    // `Kfifo<&'a u32>` (a short-lived reference put in would come out
    // `'static`). The role tokens are invariant for the same reason.
    _elements: PhantomData<fn(T) -> T>,
}

/// The identity of the next fifo: a 64-bit counter, which at one allocation
/// per nanosecond would take 584 years to wrap.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The right to add to one [`Kfifo`]; using it with another fifo fails.
pub(crate) struct KfifoIn<T> {
    fifo: u64,
    _elements: PhantomData<fn(T) -> T>,
}

/// The right to take from one [`Kfifo`]; using it with another fifo fails.
pub(crate) struct KfifoOut<T> {
    fifo: u64,
    _elements: PhantomData<fn(T) -> T>,
}

// SAFETY: The buffer is heap memory not tied to a thread; `T: Send` values move through it.
unsafe impl<T: Copy + Send> Send for Kfifo<T> {}
// SAFETY: Concurrent `&Kfifo` users either hold one of the two role tokens
// (single writer, single reader, which kfifo supports without a lock) or only
// read the indices with `READ_ONCE()` (`len`).
unsafe impl<T: Copy + Send> Sync for Kfifo<T> {}

impl<T: Copy> Kfifo<T> {
    /// Allocates (`GFP_KERNEL`, may sleep) a fifo of exactly `capacity`
    /// elements, a power of two, and its two role tokens.
    pub(crate) fn alloc(capacity: u32) -> Result<(Self, KfifoIn<T>, KfifoOut<T>)> {
        Self::new(capacity, false)
    }

    /// Like [`Kfifo::alloc`], but the buffer comes from vmalloc (C's
    /// `kfifo_init()` over a `vmalloc()`ed buffer): for large fifos, which
    /// need not be physically contiguous.
    pub(crate) fn alloc_vmalloc(capacity: u32) -> Result<(Self, KfifoIn<T>, KfifoOut<T>)> {
        Self::new(capacity, true)
    }

    fn new(capacity: u32, vmalloc: bool) -> Result<(Self, KfifoIn<T>, KfifoOut<T>)> {
        // kfifo rounds other sizes (up for `kfifo_alloc`, down for
        // `kfifo_init`): ask only for what it will give exactly.
        if !capacity.is_power_of_two() || capacity < 2 {
            return Err(EINVAL);
        }
        // kfifo keeps the element size in an `unsigned int`, and a zero-sized
        // element would ask vmalloc for nothing.
        if size_of::<T>() == 0 || size_of::<T>() > u32::MAX as usize {
            return Err(EINVAL);
        }
        // SAFETY: Any size is valid to ask for; the helper returns null on failure.
        let raw = unsafe { helpers::simrupt_kfifo_alloc(capacity, size_of::<T>(), vmalloc) };
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;
        let fifo = Self {
            raw,
            // INVARIANT: Each constructor takes a number no other has taken.
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            capacity,
            vmalloc,
            _elements: PhantomData,
        };
        // SAFETY: `raw` is a live fifo.
        let got = unsafe { helpers::simrupt_kfifo_size(raw.as_ptr()) };
        if got != capacity {
            // Cannot happen for a power of two; refuse rather than mis-size.
            pr_err!("kfifo: asked for {} elements, got {}\n", capacity, got);
            return Err(EINVAL); // `fifo` drops, and frees `raw`.
        }
        // INVARIANT: `raw` holds exactly `capacity` elements of `T`, and the
        // two tokens handed out here are the only ones carrying `id`.
        let (i, o) = (
            KfifoIn {
                fifo: fifo.id,
                _elements: PhantomData,
            },
            KfifoOut {
                fifo: fifo.id,
                _elements: PhantomData,
            },
        );
        Ok((fifo, i, o))
    }

    /// Capacity in elements.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Elements queued now (C's `kfifo_len()`); a snapshot when others run concurrently.
    ///
    /// Either role may move its index between the two reads, so their order
    /// matters. `out` is read first, with acquire, then `in`: `in` never falls
    /// behind an `out` already published, and only grows, so the difference
    /// cannot go below zero. The other order can: read `in`, then a reader
    /// drains past it (the writer refilling meanwhile), and `in - out` wraps
    /// to about 4 billion. (C's `in - out` in one expression leaves the order
    /// to the compiler; clang chose `in` first, and `stats` showed a full
    /// `rx_fifo` while the readers emptied it.)
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `raw` is live (type invariant); the helper reads `out` with
        // `smp_load_acquire()`, so a racing update gives an old or a new value,
        // never a torn one, and the read of `in` below comes after it.
        let out = unsafe { helpers::simrupt_kfifo_out_acquire(self.raw.as_ptr()) };
        #[cfg(kapi_selftest)]
        selftest::WINDOW.wait();
        // SAFETY: As above; the helper reads `in` with `READ_ONCE()`.
        let in_ = unsafe { helpers::simrupt_kfifo_in_once(self.raw.as_ptr()) };
        // The writer may refill between the two reads, which makes them look
        // further apart than the fifo is long; never report more than it holds.
        (in_.wrapping_sub(out) as usize).min(self.capacity())
    }

    /// True if nothing is queued (C's `kfifo_is_empty()`); a snapshot.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one element; returns `false` if the fifo is full, or if
    /// `writer` belongs to another fifo (C's `kfifo_put()`).
    pub(crate) fn put(&self, writer: &mut KfifoIn<T>, value: T) -> bool {
        if writer.fifo != self.id {
            return false;
        }
        // SAFETY: The fifo is live with `esize == size_of::<T>()` (type
        // invariant) and `value` is one element; `&mut` of this fifo's only
        // `KfifoIn` makes us its only writer, which is all `__kfifo_in` needs
        // to run concurrently with the reader.
        unsafe {
            helpers::simrupt_kfifo_in(self.raw.as_ptr(), core::ptr::addr_of!(value).cast(), 1) == 1
        }
    }

    /// Takes the oldest element, if any (C's `kfifo_get()`); `None` also if
    /// `reader` belongs to another fifo.
    pub(crate) fn get(&self, reader: &mut KfifoOut<T>) -> Option<T> {
        if reader.fifo != self.id {
            return None;
        }
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: As in `put`, for this fifo's only reader; `value` has room
        // for one element.
        let n =
            unsafe { helpers::simrupt_kfifo_out(self.raw.as_ptr(), value.as_mut_ptr().cast(), 1) };
        // SAFETY: `__kfifo_out` copied one whole element into `value` if it returned 1.
        (n == 1).then(|| unsafe { value.assume_init() })
    }

    /// Drops the oldest element, if any (C's `kfifo_skip()`); the caller counts it.
    pub(crate) fn skip(&self, reader: &mut KfifoOut<T>) -> bool {
        if reader.fifo != self.id {
            return false;
        }
        // SAFETY: `&mut` of this fifo's only `KfifoOut` makes us the only task
        // moving `out`; the helper writes it with `WRITE_ONCE()`.
        unsafe { helpers::simrupt_kfifo_skip(self.raw.as_ptr()) }
    }
}

impl Kfifo<u8> {
    /// Copies up to `len` queued bytes straight to user memory at `buf` (C's `kfifo_to_user()`).
    ///
    /// Returns how many bytes were copied, and consumed. If the user buffer
    /// faults part-way, the bytes copied so far are reported and the rest stay
    /// queued; if nothing could be copied, `EFAULT`. Nothing is lost either
    /// way. `EINVAL` if `reader` belongs to another fifo. May sleep (page faults).
    pub(crate) fn to_user(
        &self,
        reader: &mut KfifoOut<u8>,
        buf: super::chrdev::UserBuf,
        len: usize,
    ) -> Result<usize> {
        if reader.fifo != self.id {
            return Err(EINVAL);
        }
        let mut copied: c_uint = 0;
        // SAFETY: The fifo is live; `&mut` of its only `KfifoOut` makes us the
        // only reader. `buf` is a user pointer: `copy_to_user()` inside checks it.
        let ret = unsafe {
            helpers::simrupt_kfifo_to_user(
                self.raw.as_ptr(),
                buf.as_ptr(),
                len as c_ulong,
                &mut copied,
            )
        };
        if ret < 0 && copied == 0 {
            return Err(EFAULT);
        }
        Ok(copied as usize)
    }
}

impl<T: Copy> Drop for Kfifo<T> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `simrupt_kfifo_alloc` with this `vmalloc`
        // flag (type invariant) and is freed only here.
        unsafe { helpers::simrupt_kfifo_free(self.raw.as_ptr(), self.vmalloc) };
    }
}

/// Test builds only: widens the gap between [`Kfifo::len`]'s two reads.
///
/// `tests/kapi/selftest.rs` sets [`selftest::WINDOW`]`.ns` so that a `len()`
/// on one CPU waits that long between reading `out` and reading `in`, while
/// another CPU adds and takes elements: the order of the reads must keep
/// the result sane. The normal build has none of it.
#[cfg(kapi_selftest)]
pub(crate) mod selftest {
    /// The window; see [`crate::kapi::RaceWindow`].
    pub(crate) static WINDOW: crate::kapi::RaceWindow = crate::kapi::RaceWindow::new();
}
