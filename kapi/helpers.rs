// SPDX-License-Identifier: GPL-2.0

//! The C helpers of `helpers.c`, declared for Rust: the only hand-written C prototypes in the crate.
//!
//! Everything else this module calls in C comes from `kernel::bindings`,
//! which bindgen generates from the kernel's own headers. The helpers wrap
//! what bindgen cannot see (macros, static inlines) or what differs between
//! the supported kernels, so their prototypes are this module's own ABI:
//! plain scalars and pointers, each line matching one prototype at the top of
//! `helpers.c`. No C structure layout is mirrored here; a `struct __kfifo`
//! is only ever handled through the opaque [`RawKfifo`] pointer.

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_ulong, c_void};

/// `struct __kfifo` from `include/linux/kfifo.h`, only ever behind a pointer.
#[repr(C)]
pub(crate) struct RawKfifo {
    _opaque: [u8; 0],
    _not_send_sync_unpin: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `enum hrtimer_restart (*)(struct hrtimer *)`.
pub(crate) type HrTimerFn =
    unsafe extern "C" fn(*mut bindings::hrtimer) -> bindings::hrtimer_restart;

extern "C" {
    // Execution context.
    pub(crate) fn simrupt_in_task() -> bool;
    pub(crate) fn simrupt_preemptible() -> bool;
    pub(crate) fn simrupt_context() -> u64;
    pub(crate) fn simrupt_local_irq_save() -> c_ulong;
    pub(crate) fn simrupt_local_irq_restore(flags: c_ulong);
    pub(crate) fn simrupt_warn(what: *const c_char);

    // hrtimer.
    pub(crate) fn simrupt_hrtimer_setup(t: *mut bindings::hrtimer, callback: HrTimerFn);
    pub(crate) fn simrupt_hrtimer_start(t: *mut bindings::hrtimer, ns: u64);
    pub(crate) fn simrupt_hrtimer_forward_now(t: *mut bindings::hrtimer, ns: u64) -> u64;

    // timer_list. `simrupt_timer_setup()` is called through the wrapper of
    // the same name below.
    #[link_name = "simrupt_timer_setup"]
    fn simrupt_timer_setup_raw(
        t: *mut bindings::timer_list,
        callback: unsafe extern "C" fn(*mut bindings::timer_list),
        name: *const c_char,
        key: *mut c_void,
    );
    pub(crate) fn simrupt_timer_start_ms(t: *mut bindings::timer_list, ms: c_uint);

    // tasklet.
    pub(crate) fn simrupt_tasklet_setup(
        t: *mut bindings::tasklet_struct,
        callback: unsafe extern "C" fn(*mut bindings::tasklet_struct),
    );
    pub(crate) fn simrupt_tasklet_schedule(t: *mut bindings::tasklet_struct);

    // workqueue.
    pub(crate) fn simrupt_alloc_workqueue_unbound(
        name: *const c_char,
    ) -> *mut bindings::workqueue_struct;

    // Locks, wait queues, char devices.
    pub(crate) fn simrupt_mutex_lock_interruptible(lock: *mut bindings::mutex) -> c_int;
    // `struct file`, `poll_table` and `struct dentry` are passed through
    // untouched: `c_void` keeps the declarations FFI-safe (bindgen's `file`
    // contains zero-sized C structs, which the `improper_ctypes` lint refuses).
    pub(crate) fn simrupt_poll_wait(
        filp: *mut c_void,
        wq: *mut bindings::wait_queue_head,
        pt: *mut c_void,
    );
    pub(crate) fn simrupt_mkdev(major: c_uint, minor: c_uint) -> bindings::dev_t;
    pub(crate) fn simrupt_rcu_read_lock();
    pub(crate) fn simrupt_rcu_read_unlock();

    // kfifo.
    pub(crate) fn simrupt_kfifo_alloc(n: c_uint, esize: usize, use_vmalloc: bool) -> *mut RawKfifo;
    pub(crate) fn simrupt_kfifo_free(fifo: *mut RawKfifo, use_vmalloc: bool);
    pub(crate) fn simrupt_kfifo_size(fifo: *mut RawKfifo) -> c_uint;
    pub(crate) fn simrupt_kfifo_out_acquire(fifo: *mut RawKfifo) -> c_uint;
    pub(crate) fn simrupt_kfifo_in_once(fifo: *mut RawKfifo) -> c_uint;
    pub(crate) fn simrupt_kfifo_in(fifo: *mut RawKfifo, buf: *const c_void, n: c_uint) -> c_uint;
    pub(crate) fn simrupt_kfifo_out(fifo: *mut RawKfifo, buf: *mut c_void, n: c_uint) -> c_uint;
    pub(crate) fn simrupt_kfifo_skip(fifo: *mut RawKfifo) -> bool;
    pub(crate) fn simrupt_kfifo_to_user(
        fifo: *mut RawKfifo,
        to: *mut c_void,
        len: c_ulong,
        copied: *mut c_uint,
    ) -> c_int;

    // debugfs.
    pub(crate) fn simrupt_debugfs_create_dir(name: *const c_char) -> *mut c_void;
    pub(crate) fn simrupt_debugfs_create_file(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut c_void,
        data: *mut c_void,
        fops: *const c_void,
    ) -> *mut c_void;
    pub(crate) fn simrupt_debugfs_remove(dentry: *mut c_void);
}

/// C's `simrupt_timer_setup()`: the prototype with its real key type.
///
/// The key crosses the C boundary as `void *`: without lockdep (a production
/// kernel, `CONFIG_LOCKDEP` off) `struct lock_class_key` is an empty C
/// struct, which bindgen turns into a Rust struct without fields, and the
/// `improper_ctypes` lint refuses those in an `extern` block. C only ever
/// sees the address, so the cast changes nothing.
///
/// # Safety
///
/// The contract of `timer_init_key()`: `t` is valid for writes and stays
/// pinned while the timer is in use; `name` and `key` live for as long as the
/// timer does (both are `'static` for lockdep).
pub(crate) unsafe fn simrupt_timer_setup(
    t: *mut bindings::timer_list,
    callback: unsafe extern "C" fn(*mut bindings::timer_list),
    name: *const c_char,
    key: *mut bindings::lock_class_key,
) {
    // SAFETY: The caller upholds `timer_init_key()`'s contract (above); the
    // key pointer is passed through unchanged.
    unsafe { simrupt_timer_setup_raw(t, callback, name, key.cast()) }
}
