// SPDX-License-Identifier: GPL-2.0

//! The kernel's FIFO, `kfifo`, as `rx_fifo` (bytes) and `rx_times` (timestamps) use it.
//!
//! C: `linux/kfifo.h`, `lib/kfifo.c`. The `kfifo_*()` API is made of macros
//! over a few exported functions (`__kfifo_alloc()`, `__kfifo_in()`,
//! `__kfifo_to_user()`, ...) and `struct __kfifo`. 6.12's bindings include
//! neither, so this file declares them, copied from `include/linux/kfifo.h`.
//!
//! A kfifo is safe without a lock between *one* writer and *one* reader: the
//! writer only moves `in`, the reader only moves `out`, and `lib/kfifo.c`
//! orders the data copy before the index update with `smp_wmb()`. The two
//! roles are tokens here, [`KfifoIn`] and [`KfifoOut`]: exactly one of each
//! exists per [`Kfifo`], and every operation takes `&mut` of its token, so the
//! lock that owns the token (simrupt's `producer_lock` and `rx_out_lock`) is
//! what makes each role single.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::{size_of, MaybeUninit};
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};
use kernel::{
    alloc::VVec,
    bindings,
    error::code::{EFAULT, EINVAL},
    prelude::*,
    uaccess::UserPtr,
};

/// `struct __kfifo` from `include/linux/kfifo.h`.
#[repr(C)]
struct RawKfifo {
    in_: c_uint,
    out: c_uint,
    mask: c_uint,
    esize: c_uint,
    data: *mut c_void,
}

extern "C" {
    fn __kfifo_alloc(
        fifo: *mut RawKfifo,
        size: c_uint,
        esize: usize,
        gfp: bindings::gfp_t,
    ) -> c_int;
    fn __kfifo_free(fifo: *mut RawKfifo);
    fn __kfifo_init(fifo: *mut RawKfifo, buffer: *mut c_void, size: c_uint, esize: usize) -> c_int;
    fn __kfifo_in(fifo: *mut RawKfifo, buf: *const c_void, len: c_uint) -> c_uint;
    fn __kfifo_out(fifo: *mut RawKfifo, buf: *mut c_void, len: c_uint) -> c_uint;
    fn __kfifo_to_user(
        fifo: *mut RawKfifo,
        to: *mut c_void,
        len: c_ulong,
        copied: *mut c_uint,
    ) -> c_int;
}

/// A kfifo of `T` (C's `DECLARE_KFIFO_PTR(fifo, T)` + `kfifo_alloc()`).
///
/// # Invariants
///
/// `raw` was set up with `esize == size_of::<T>()`, either by a successful
/// `__kfifo_alloc()` (then `vbuf` is `None` and `Drop` frees the buffer with
/// `__kfifo_free()`), or by `__kfifo_init()` over the buffer of `vbuf`, which
/// lives as long as `self`. Only the holder of the single [`KfifoIn`] moves
/// `raw.in_`, only the holder of the single [`KfifoOut`] moves `raw.out`.
pub(crate) struct Kfifo<T: Copy> {
    raw: UnsafeCell<RawKfifo>,
    vbuf: Option<VVec<T>>,
    _elements: PhantomData<T>,
}

/// The right to add to a [`Kfifo`]: one per fifo.
pub(crate) struct KfifoIn<T>(PhantomData<T>);

/// The right to take from a [`Kfifo`]: one per fifo.
pub(crate) struct KfifoOut<T>(PhantomData<T>);

// SAFETY: The buffer is heap memory not tied to a thread; `T: Send` values move through it.
unsafe impl<T: Copy + Send> Send for Kfifo<T> {}
// SAFETY: Concurrent `&Kfifo` users either hold one of the two role tokens
// (single writer, single reader, which kfifo supports without a lock) or only
// read the indices with `READ_ONCE` semantics (`len`).
unsafe impl<T: Copy + Send> Sync for Kfifo<T> {}

impl<T: Copy> Kfifo<T> {
    /// Allocates (`GFP_KERNEL`, may sleep) a fifo of exactly `size`
    /// elements, and its two role tokens. `size` must be a power of two
    /// (kfifo's own rule), at least 2: otherwise `EINVAL`.
    pub(crate) fn alloc(size: u32) -> Result<(Self, KfifoIn<T>, KfifoOut<T>)> {
        let fifo = Self::empty();
        // SAFETY: `raw` is valid for writes; on failure `__kfifo_alloc` leaves
        // `data` null, which `__kfifo_free` accepts.
        kernel::error::to_result(unsafe {
            __kfifo_alloc(fifo.raw.get(), size, size_of::<T>(), bindings::GFP_KERNEL)
        })?;
        // `__kfifo_alloc` takes `size` in elements, rounded up to a power of two.
        fifo.check_capacity(size)?;
        // INVARIANT: The fifo is allocated and we hand out exactly one token of each role.
        Ok((fifo, KfifoIn(PhantomData), KfifoOut(PhantomData)))
    }

    /// Like [`Kfifo::alloc`], but the buffer comes from vmalloc (C's
    /// `kfifo_init()` over a `vmalloc()`ed buffer): for large fifos, which
    /// need not be physically contiguous. Same rules for `size`.
    pub(crate) fn alloc_vmalloc(size: u32) -> Result<(Self, KfifoIn<T>, KfifoOut<T>)> {
        // `__kfifo_init` takes the buffer's size in *bytes* (and divides it by
        // the element size), unlike `__kfifo_alloc`.
        let bytes = size
            .checked_mul(u32::try_from(size_of::<T>()).map_err(|_| EINVAL)?)
            .ok_or(EINVAL)?;
        let mut buf = VVec::<T>::with_capacity(size as usize, GFP_KERNEL)?;
        let mut fifo = Self::empty();
        // SAFETY: `raw` is valid for writes; `buf` has room for `size`
        // elements of `T`, which is `bytes` bytes, and is kept in `fifo.vbuf`
        // below, so it outlives every use of `raw`. (Moving a `VVec` does not
        // move its buffer.)
        kernel::error::to_result(unsafe {
            __kfifo_init(
                fifo.raw.get(),
                buf.as_mut_ptr().cast(),
                bytes,
                size_of::<T>(),
            )
        })?;
        // INVARIANT: The fifo is set up over `vbuf`; one token of each role.
        fifo.vbuf = Some(buf);
        fifo.check_capacity(size)?;
        Ok((fifo, KfifoIn(PhantomData), KfifoOut(PhantomData)))
    }

    /// Asserts that the fifo holds exactly the `size` elements asked for:
    /// kfifo silently rounds a size that is not a power of two (up in
    /// `__kfifo_alloc`, down in `__kfifo_init`), and a fifo smaller than its
    /// user's sizing arguments assume breaks them without a sound.
    fn check_capacity(&self, size: u32) -> Result {
        if self.capacity() != size as usize {
            pr_err!(
                "kfifo: asked for {} elements, got {}: size must be a power of two\n",
                size,
                self.capacity()
            );
            return Err(EINVAL);
        }
        Ok(())
    }

    fn empty() -> Self {
        Self {
            raw: UnsafeCell::new(RawKfifo {
                in_: 0,
                out: 0,
                mask: 0,
                esize: 0,
                data: core::ptr::null_mut(),
            }),
            vbuf: None,
            _elements: PhantomData,
        }
    }

    /// Capacity in elements.
    pub(crate) fn capacity(&self) -> usize {
        // SAFETY: `mask` is written only by `alloc`, before `self` is shared.
        unsafe { (*self.raw.get()).mask as usize + 1 }
    }

    /// Elements queued now (C's `kfifo_len()`); a snapshot when others run concurrently.
    pub(crate) fn len(&self) -> usize {
        let raw = self.raw.get();
        // SAFETY: The indices are plain integers that the two roles update;
        // volatile reads are C's `READ_ONCE()`, so a racing update gives an
        // old or a new value, never a torn one.
        let (in_, out) = unsafe {
            (
                core::ptr::read_volatile(core::ptr::addr_of!((*raw).in_)),
                core::ptr::read_volatile(core::ptr::addr_of!((*raw).out)),
            )
        };
        (in_.wrapping_sub(out) as usize).min(self.capacity())
    }

    /// True if nothing is queued (C's `kfifo_is_empty()`); a snapshot.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one element; returns `false` if the fifo is full (C's `kfifo_put()`).
    pub(crate) fn put(&self, _writer: &mut KfifoIn<T>, value: T) -> bool {
        // SAFETY: The fifo is allocated with `esize == size_of::<T>()` (type
        // invariant) and `value` is one element; `&mut KfifoIn` makes us the
        // only writer, which is all `__kfifo_in` needs to run concurrently
        // with the reader.
        unsafe { __kfifo_in(self.raw.get(), core::ptr::addr_of!(value).cast(), 1) == 1 }
    }

    /// Takes the oldest element, if any (C's `kfifo_get()`).
    pub(crate) fn get(&self, _reader: &mut KfifoOut<T>) -> Option<T> {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: As in `put`, for the only reader; `value` has room for one element.
        let n = unsafe { __kfifo_out(self.raw.get(), value.as_mut_ptr().cast(), 1) };
        // SAFETY: `__kfifo_out` copied one whole element into `value` if it returned 1.
        (n == 1).then(|| unsafe { value.assume_init() })
    }

    /// Drops the oldest element, if any (C's `kfifo_skip()`); the caller counts it.
    pub(crate) fn skip(&self, _reader: &mut KfifoOut<T>) -> bool {
        if self.is_empty() {
            return false;
        }
        let raw = self.raw.get();
        // SAFETY: `&mut KfifoOut` makes us the only task moving `out`; the
        // volatile write is C's `WRITE_ONCE()` for the racing `len()` readers.
        unsafe {
            let out = core::ptr::addr_of_mut!((*raw).out);
            core::ptr::write_volatile(out, (*out).wrapping_add(1));
        }
        true
    }
}

impl Kfifo<u8> {
    /// Copies up to `len` queued bytes straight to user memory at `buf` (C's `kfifo_to_user()`).
    ///
    /// Returns how many bytes were copied, and consumed. If the user buffer
    /// faults part-way, the bytes copied so far are reported and the rest stay
    /// queued; if nothing could be copied, `EFAULT`. Nothing is lost either way.
    /// May sleep (page faults).
    pub(crate) fn to_user(
        &self,
        _reader: &mut KfifoOut<u8>,
        buf: UserPtr,
        len: usize,
    ) -> Result<usize> {
        let mut copied: c_uint = 0;
        // SAFETY: The fifo is allocated; `&mut KfifoOut` makes us the only
        // reader. `buf` is a user pointer: `copy_to_user()` inside checks it.
        let ret = unsafe {
            __kfifo_to_user(
                self.raw.get(),
                buf as *mut c_void,
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
        if self.vbuf.is_none() {
            // SAFETY: Without `vbuf`, the buffer came from `__kfifo_alloc`
            // (type invariant, or it is null after a failed one) and is freed
            // only here. Otherwise `vbuf` frees its own buffer.
            unsafe { __kfifo_free(self.raw.get()) };
        }
    }
}
