// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the C kernel APIs that Linux 6.12's `kernel` crate does not wrap.
//!
//! Each submodule wraps one C facility, owns the C object it wraps, and undoes
//! its setup in `Drop` (or in the `Drop` of the handle that armed it). Nearly
//! all `unsafe` of the module lives here and in `fastbuf.rs`, each with a
//! `// SAFETY:` proof; `simrupt.rs`, the pipeline itself, is written against
//! these wrappers; its remaining `unsafe` reads the clock, builds `fast_buf`
//! in place, and keeps `fast_buf`'s single-producer/single-consumer contract
//! (the top half's functions are `unsafe fn`s: "only the top half calls this").
//! `Documentation/kapi.md` maps each wrapper to its upstream equivalent on
//! Linux 7.3 and explains why the wrappers are sound.
//!
//! | module        | C API                                              | header                     |
//! |---------------|----------------------------------------------------|----------------------------|
//! | [`context`]   | `smp_processor_id()`, `in_hardirq()`, ...          | `linux/preempt.h`          |
//! | [`hrtimer`]   | `hrtimer_init()`, `hrtimer_start()`, ...           | `linux/hrtimer.h`          |
//! | [`timer_list`]| `timer_setup()`, `mod_timer()`, ...                | `linux/timer.h`            |
//! | [`tasklet`]   | `tasklet_setup()`, `tasklet_schedule()`, ...       | `linux/interrupt.h`        |
//! | [`wq`]        | `alloc_workqueue()`, `system_bh_wq`, `flush_work()`| `linux/workqueue.h`        |
//! | [`kfifo`]     | `kfifo_alloc()`, `kfifo_in()`, `kfifo_to_user()`   | `linux/kfifo.h`            |
//! | [`mutex`]     | `mutex_lock_interruptible()`                       | `linux/mutex.h`            |
//! | [`waitqueue`] | `wait_event_interruptible()`, `wake_up_interruptible()`, `poll_wait()` | `linux/wait.h` |
//! | [`chrdev`]    | `register_chrdev()`, `class_create()`, `device_create()` | `linux/fs.h`, `linux/device.h` |
//! | [`param`]     | `module_param_cb()`                                | `linux/moduleparam.h`      |
//! | [`debugfs`]   | `debugfs_create_file()`, `single_open()`           | `linux/debugfs.h`, `linux/seq_file.h` |

pub(crate) mod chrdev;
pub(crate) mod compat;
pub(crate) mod context;
pub(crate) mod debugfs;
pub(crate) mod helpers;
pub(crate) mod hrtimer;
pub(crate) mod kfifo;
pub(crate) mod mutex;
pub(crate) mod param;
pub(crate) mod printk;
pub(crate) mod tasklet;
pub(crate) mod timer_list;
pub(crate) mod waitqueue;
pub(crate) mod wq;

/// A type that embeds a C object wrapper of type `F` in one of its fields.
///
/// C callbacks (timers, tasklets) hand back a pointer to the embedded C object;
/// [`Embeds::container_of`] turns it back into a pointer to the containing
/// Rust object, as C's `container_of()` does. The wrappers only ever arm a
/// callback through [`Embeds::field_of`] of a live owner, so a callback can
/// only fire for a field that really is inside a `Self`. Implement it with
/// [`impl_embeds!`], which checks the field's type; each wrapper type carries
/// an `ID`, so one owner can embed several of the same kind (as
/// `kernel::workqueue::HasWork<T, ID>` does).
///
/// # Safety
///
/// `field_of(p)` must return a pointer to a field of type `F` inside `*p`, and
/// `container_of` must be its inverse: `container_of(field_of(p)) == p`.
pub(crate) unsafe trait Embeds<F> {
    /// Returns the `F` field of the `Self` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live `Self`.
    unsafe fn field_of(ptr: *const Self) -> *const F;

    /// Returns the `Self` whose `F` field is at `field`.
    ///
    /// # Safety
    ///
    /// `field` must have been returned by [`Embeds::field_of`]; the result is
    /// valid to dereference only while that `Self` is alive.
    unsafe fn container_of(field: *const F) -> *const Self;
}

/// Implements [`Embeds`] for a field of a struct; it does not compile if the field has another type.
macro_rules! impl_embeds {
    ($owner:ty { $field:ident: $fty:ty }) => {
        // SAFETY: `field_of` only compiles if `$field` has type `$fty` (the
        // type of the `addr_of!` expression is the field's), and
        // `container_of` subtracts that same field's offset: they are inverses.
        unsafe impl $crate::kapi::Embeds<$fty> for $owner {
            unsafe fn field_of(ptr: *const Self) -> *const $fty {
                // SAFETY: The caller guarantees that `ptr` points to a live `$owner`.
                unsafe { ::core::ptr::addr_of!((*ptr).$field) }
            }

            unsafe fn container_of(field: *const $fty) -> *const Self {
                field
                    .cast::<u8>()
                    .wrapping_sub(::core::mem::offset_of!($owner, $field))
                    .cast::<Self>()
            }
        }
    };
}
pub(crate) use impl_embeds;

// The code of a timer tick, on one page of its own. kapi's timer callbacks
// (`hrtimer.rs`, `timer_list.rs`: a handler marked `#[inline(always)]` is
// compiled into them) and the C helpers they call (`helpers.c`) are in
// `.text.hot`, about 2 KiB; this aligns that section to a page, so that it
// never straddles two. A tick that comes every 100 ms finds none of its
// pages in the TLB: on hardware each page costs a page walk, under QEMU's
// emulation a much slower software one (Documentation/benchmarks.md). The
// price is up to a page of padding in the module. LLVM puts this directive
// before any function, at offset 0 of the section: it pads nothing itself.
core::arch::global_asm!(
    ".pushsection .text.hot,\"ax\",@progbits",
    ".balign 4096",
    ".popsection"
);

/// What a timer callback gets: a shared reference to its owner, which lives in an `Arc`.
///
/// A callback mostly reads its owner, and `&T` is all that needs (this
/// derefs to it, at no cost). Only a callback that passes its owner on, for
/// example to queue work that holds an `Arc`, needs the `Arc` itself:
/// [`ArcRef::arc_borrow`] (or `.into()`) makes it then, and only then. The
/// timers hand this out rather than an `ArcBorrow`, because making an
/// `ArcBorrow` from the data's address computes where the `Arc`'s header is
/// (a `Layout` calculation that the kernel's Rust does not inline into a
/// module): on every tick of a top half that must be quick, for nothing.
///
/// # Invariants
///
/// `this` is the data of an `Arc<T>` whose reference count stays above zero
/// for `'a`.
pub(crate) struct ArcRef<'a, T> {
    this: &'a T,
}

impl<T> Clone for ArcRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ArcRef<'_, T> {}

impl<'a, T> ArcRef<'a, T> {
    /// Wraps the data pointer of an `Arc<T>`.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `Arc::as_ptr` (or `Arc::into_raw`) of an `Arc<T>`
    /// whose reference count stays above zero for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *const T) -> Self {
        // INVARIANT: The caller guarantees it.
        Self {
            // SAFETY: The `Arc`'s data is alive and only shared for `'a` (the
            // caller's guarantee; an `Arc` gives out only shared references).
            this: unsafe { &*ptr },
        }
    }

    /// The `Arc` this refers to, as an `ArcBorrow` (turn it into an `Arc<T>` with `.into()`).
    pub(crate) fn arc_borrow(self) -> kernel::sync::ArcBorrow<'a, T> {
        // SAFETY: `this` is the data of an `Arc<T>` that stays alive for
        // `'a` (type invariant): what `ArcBorrow::from_raw` requires.
        unsafe { kernel::sync::ArcBorrow::from_raw(self.this) }
    }
}

impl<T> core::ops::Deref for ArcRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.this
    }
}

impl<T> From<ArcRef<'_, T>> for kernel::sync::Arc<T> {
    /// A new `Arc` to the same data (the count goes up by one).
    fn from(this: ArcRef<'_, T>) -> Self {
        this.arc_borrow().into()
    }
}

/// This module's `struct module` (C's `THIS_MODULE`), for the `owner` of the
/// constant `file_operations` tables of [`chrdev`] and [`debugfs`].
///
/// The loader fills `__this_module` in before any of the module's code runs;
/// only its address is taken here (no read), which is safe.
pub(crate) const THIS_MODULE: *mut kernel::bindings::module = {
    extern "C" {
        // Declared as a byte, as in `param::module_param!`: only its address is used.
        static __this_module: u8;
    }
    (&raw const __this_module)
        .cast::<kernel::bindings::module>()
        .cast_mut()
};

/// The C string `s` as the kernel's `const char *` (whose `char` is unsigned).
///
/// `CStr::as_ptr` gives `*const i8` on x86; the kernel lints ask for this form.
pub(crate) const fn c_chars(s: &core::ffi::CStr) -> *const kernel::ffi::c_char {
    s.to_bytes_with_nul().as_ptr()
}

/// The C string at `ptr` (C's `const char *`), borrowed.
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn c_str_at<'a>(ptr: *const kernel::ffi::c_char) -> &'a core::ffi::CStr {
    // SAFETY: Per the contract, `ptr` is a valid string: `strlen` finds its
    // NUL, and the bytes up to and including it stay valid for `'a`.
    unsafe {
        let len = kernel::bindings::strlen(ptr);
        core::ffi::CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(ptr, len + 1))
    }
}

/// A lockdep class key for a lock or wait queue this module initialises through C.
///
/// 6.12's `kernel::sync::LockClassKey` does not expose its C pointer outside
/// the `kernel` crate, so the C-level wrappers here use this one. Create it
/// with [`static_lock_class!`]: lockdep requires keys in static memory.
#[repr(transparent)]
pub(crate) struct LockClassKey(kernel::types::Opaque<kernel::bindings::lock_class_key>);

// SAFETY: Lockdep only uses the key's address, and updates it under its own lock.
unsafe impl Sync for LockClassKey {}

impl LockClassKey {
    /// A key for a `static`; lockdep initialises it on first use.
    pub(crate) const fn new() -> Self {
        Self(kernel::types::Opaque::uninit())
    }

    /// The C pointer.
    pub(crate) fn as_ptr(&self) -> *mut kernel::bindings::lock_class_key {
        self.0.get()
    }
}

/// A new, unique `&'static LockClassKey`, one per call site (as C's static keys in `mutex_init()`).
macro_rules! static_lock_class {
    () => {{
        static CLASS: $crate::kapi::LockClassKey = $crate::kapi::LockClassKey::new();
        &CLASS
    }};
}
pub(crate) use static_lock_class;

/// Test builds only: a race window widened on purpose.
///
/// A few instructions wide in the real code, a race between two CPUs is
/// almost never hit by a test. `tests/kapi/selftest.rs` sets `ns` so that the
/// code inside the window (a [`tasklet::Tasklet::schedule`] that saw a handle,
/// a [`kfifo::Kfifo::len`] between its two reads) waits that long, and knows
/// from `entered` when the other CPU is in it. The normal build has none of it.
#[cfg(kapi_selftest)]
pub(crate) struct RaceWindow {
    /// How long the code in the window waits; 0: not at all.
    pub(crate) ns: core::sync::atomic::AtomicU64,
    /// Set when the code enters that wait.
    pub(crate) entered: core::sync::atomic::AtomicBool,
}

#[cfg(kapi_selftest)]
impl RaceWindow {
    pub(crate) const fn new() -> Self {
        Self {
            ns: core::sync::atomic::AtomicU64::new(0),
            entered: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Waits `ns` nanoseconds, spinning (any context), if a test asked for it.
    pub(crate) fn wait(&self) {
        use core::sync::atomic::Ordering;
        let ns = self.ns.load(Ordering::Relaxed);
        if ns == 0 {
            return;
        }
        self.entered.store(true, Ordering::SeqCst);
        let start = crate::now_ns();
        while crate::now_ns().saturating_sub(start) < ns {
            core::hint::spin_loop();
        }
    }
}
