// SPDX-License-Identifier: GPL-2.0

//! A character device with a node in `/dev`, and the file operations behind it.
//!
//! C: `linux/fs.h` (`register_chrdev()`, `struct file_operations`) and
//! `linux/device.h` (`class_create()`, `device_create()`). Creating a device in
//! a class makes devtmpfs (and udev, where present) create `/dev/<name>`.
//!
//! The file operations are one constant table per device type (as upstream's
//! `kernel::miscdevice` builds its vtable), in the module's read-only data, and
//! its `owner` is this module: each open file holds a module reference, so the
//! table and the callbacks outlive every open file, and `rmmod` answers "in
//! use" while one is open. Each open file also holds its own reference to the
//! device (an `Arc<T>` in `private_data`, given back at the last `close()`), so
//! a file stays usable after the [`Registration`] is dropped: `cdev_del()`
//! stops new opens, not the files already open.
//!
//! ```text
//!   Registration::new ─► DeviceSlot<T> holds the device ─► open(): the file takes an Arc<T>
//!                                                             │ read/poll: that Arc's T
//!   drop(Registration): no new opens; slot cleared ──────► release(): the file's Arc goes
//! ```

use crate::kapi::{helpers, waitqueue::WaitQueue};
use core::ffi::CStr;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{
    bindings,
    error::code::{EBUSY, ENODEV},
    error::from_err_ptr,
    prelude::*,
    sync::{Arc, ArcBorrow},
};

/// A user-space address handed to `read()` (C's `char __user *`).
///
/// Only `copy_to_user()` and friends may use it; they check it.
#[derive(Clone, Copy)]
pub(crate) struct UserBuf(*mut c_void);

impl UserBuf {
    /// The `__user` pointer, for the C functions that check and use it.
    pub(crate) fn as_ptr(self) -> *mut c_void {
        self.0
    }
}

/// An open file of the device, as the file operations see it.
#[repr(transparent)]
pub(crate) struct File(kernel::types::Opaque<bindings::file>);

impl File {
    /// # Safety
    ///
    /// `ptr` must point to a `struct file` that stays valid for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a File {
        // SAFETY: `File` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    /// True if the file is in `O_NONBLOCK` mode now.
    ///
    /// Another thread may change the flag at any time (`fcntl(F_SETFL)`, which
    /// writes `f_flags` under `f_lock`, a lock this does not take), so the
    /// field is read once with a volatile load, C's `READ_ONCE()`.
    pub(crate) fn is_nonblocking(&self) -> bool {
        // SAFETY: The file is valid (`from_raw` contract). A concurrent
        // `fcntl()` writes the `unsigned int` with one aligned store, so this
        // volatile read sees its old or its new value.
        let flags =
            unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.0.get()).f_flags)) };
        flags & bindings::O_NONBLOCK != 0
    }
}

/// The `poll_table` of a `poll()` call in progress on a file of a device borrowed for `'a`.
///
/// # Invariants
///
/// `filp` and `table` are the arguments of a `poll` call in progress, for a
/// file that holds a reference to the device (see [`Fops`]) until its last
/// `close()`. `'a` is the lifetime of the borrow of that device which the
/// [`CharDevice::poll`] in progress received; `PollTable` is invariant in
/// `'a`, so it cannot be shortened to the life of a local variable.
pub(crate) struct PollTable<'a> {
    filp: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
    _device: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> PollTable<'a> {
    /// Registers the caller on `queue`: a wake-up of `queue` re-runs `poll` (C's `poll_wait()`).
    ///
    /// `queue` must be borrowed for `'a`, as long as the device: a field of
    /// the device (or a `static`) is accepted, a wait queue in a local
    /// variable, which `poll` would free while `epoll` still waits on it, is not.
    pub(crate) fn register(&self, queue: &'a WaitQueue) {
        // SAFETY: `filp` and `table` are the arguments of the `poll` call in
        // progress (type invariant). `queue` stays valid until the file's last
        // `close()`: `CharDevice::poll` is generic over `'a`, so what it can
        // borrow for `'a` from the device (or `'static` data) stays valid
        // while the device is alive and not borrowed mutably, and the file
        // holds an `Arc` of the device (shared, never `&mut`) until
        // `release`. The VFS removes every registration before that:
        // `select()`/`poll()` at the end of the call, while they hold a
        // reference to the file, `epoll` in `eventpoll_release()`, which
        // `__fput()` calls before `release`.
        unsafe { queue.poll_wait(self.filp, self.table) };
    }
}

/// `poll()` mask bits (`include/uapi/linux/eventpoll.h`).
pub(crate) const EPOLLIN: u32 = 0x0001;
/// See [`EPOLLIN`].
pub(crate) const EPOLLRDNORM: u32 = 0x0040;

/// What a character device does; the methods run in process context and may sleep.
///
/// Each open file holds a reference to the device, from a successful `open`
/// to the matching `release`; the other methods run on that device.
pub(crate) trait CharDevice: Send + Sync + Sized + 'static {
    /// Where [`Registration::new`] publishes the device for `open`.
    ///
    /// Any `static` [`DeviceSlot`] will do; `open` finds the device there,
    /// or fails with `ENODEV` if it holds none.
    fn slot() -> &'static DeviceSlot<Self>;
    /// `open()`; `this` may be cloned into an `Arc` that outlives the call.
    fn open(this: ArcBorrow<'_, Self>, file: &File) -> Result;
    /// The last `close()` of an open file.
    fn release(&self, file: &File);
    /// `read()`: copy at most `len` bytes to user memory at `buf`.
    fn read(&self, file: &File, buf: UserBuf, len: usize) -> Result<usize>;
    /// `poll()`/`select()`/`epoll`: register on wait queues of the device, return the ready mask.
    fn poll<'a>(&'a self, file: &File, table: &PollTable<'a>) -> u32;
}

/// Where a registered device is published, for `open` to find it.
///
/// # Invariants
///
/// The pointer is null, or came from `Arc::as_ptr` of the `Arc<T>` held by
/// the one live `Published<T>` that set it. That `Published` clears it and
/// waits for an RCU grace period before it releases its `Arc`, so a non-null
/// pointer loaded inside an RCU read-side critical section stays valid until
/// the section ends.
pub(crate) struct DeviceSlot<T>(AtomicPtr<T>);

impl<T: CharDevice> DeviceSlot<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Null.
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// A new reference to the published device, or `None` if none is.
    fn get(&self) -> Option<Arc<T>> {
        let _rcu = RcuReadLock::new();
        let ptr = self.0.load(Ordering::Acquire);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: Inside an RCU read-side critical section, a non-null
        // pointer is the `Arc` of a live `Published` (type invariant), so the
        // count is above zero until the section ends; taking a new reference
        // now keeps the device alive after it.
        Some(unsafe { ArcBorrow::from_raw(ptr) }.into())
    }
}

/// An RCU read-side critical section, until dropped (C's `rcu_read_lock()`).
struct RcuReadLock(PhantomData<*mut ()>);

impl RcuReadLock {
    fn new() -> Self {
        // SAFETY: Entering a read-side critical section is always allowed;
        // `Drop` leaves it on the same task (the guard is `!Send`).
        unsafe { helpers::simrupt_rcu_read_lock() };
        Self(PhantomData)
    }
}

impl Drop for RcuReadLock {
    fn drop(&mut self) {
        // SAFETY: `new` entered the section, on this task.
        unsafe { helpers::simrupt_rcu_read_unlock() };
    }
}

/// The file operations of a device of type `T`: one constant table.
///
/// # Invariants
///
/// A file whose `f_op` is [`Fops::FOPS`] and whose `open` succeeded has in
/// `private_data` the pointer of an `Arc<T>` (from `Arc::into_raw`) that the
/// file owns: [`open_cb`] stores it, [`release_cb`] gives it back, and
/// nothing else writes `private_data` of such a file (a [`File`] does not
/// expose it).
struct Fops<T>(PhantomData<T>);

impl<T: CharDevice> Fops<T> {
    const FOPS: bindings::file_operations = {
        // SAFETY: All-zero is a valid `file_operations`: every callback `None`.
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        // Each open file holds a reference to this module: the table and the
        // callbacks (in this module's memory) outlive the file.
        fops.owner = crate::kapi::THIS_MODULE;
        fops.open = Some(open_cb::<T>);
        fops.release = Some(release_cb::<T>);
        fops.read = Some(read_cb::<T>);
        fops.poll = Some(poll_cb::<T>);
        fops
    };

    /// The table, in the module's read-only data.
    const fn get() -> &'static bindings::file_operations {
        &Self::FOPS
    }
}

/// The device of a file opened by [`open_cb`], borrowed.
///
/// # Safety
///
/// `filp` must be a file opened by [`open_cb::<T>`] whose `release` has not
/// run, and stay so for `'a`.
unsafe fn device_of<'a, T: CharDevice>(filp: *mut bindings::file) -> ArcBorrow<'a, T> {
    // SAFETY: Per the contract and the invariant of `Fops`, `private_data` is
    // the pointer of an `Arc<T>` that the file owns until `release`.
    unsafe { ArcBorrow::from_raw((*filp).private_data.cast::<T>()) }
}

/// `file_operations.open`: takes a reference to the published device for the file.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file of a device
/// whose `file_operations` are [`Fops<T>`].
unsafe extern "C" fn open_cb<T: CharDevice>(
    inode: *mut bindings::inode,
    filp: *mut bindings::file,
) -> c_int {
    // SAFETY: The VFS passes a valid inode and file. `stream_open` marks the
    // file as a stream: no seeking, no pread (they fail with `ESPIPE`).
    let ret = unsafe { bindings::stream_open(inode, filp) };
    if ret != 0 {
        return ret;
    }
    // The registration is gone (or an open raced with its drop): no device.
    let Some(dev) = T::slot().get() else {
        return ENODEV.to_errno();
    };
    // SAFETY: The VFS passes a file that is valid for the whole call.
    let file = unsafe { File::from_raw(filp) };
    if let Err(e) = T::open(dev.as_arc_borrow(), file) {
        return e.to_errno(); // `dev` drops: a failed open keeps nothing.
    }
    // INVARIANT: The file owns this reference until `release_cb`; the VFS
    // calls `release` exactly once for a file whose `open` succeeded.
    // SAFETY: `filp` is valid, and no one else uses `private_data` yet.
    unsafe { (*filp).private_data = Arc::into_raw(dev).cast_mut().cast() };
    0
}

/// `file_operations.release`: the last `close()`; gives back the file's reference.
///
/// # Safety
///
/// Only the VFS calls this, once, for a file that [`open_cb`] opened.
unsafe extern "C" fn release_cb<T: CharDevice>(
    _inode: *mut bindings::inode,
    filp: *mut bindings::file,
) -> c_int {
    // SAFETY: `private_data` holds the file's `Arc<T>` (invariant of `Fops`),
    // taken back here, once; the VFS calls no other operation of the file
    // after `release`.
    let dev = unsafe { Arc::<T>::from_raw((*filp).private_data.cast::<T>()) };
    // SAFETY: `filp` is valid for the call.
    dev.release(unsafe { File::from_raw(filp) });
    0
}

/// `file_operations.read`.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file that
/// [`open_cb`] opened and that is not yet released.
unsafe extern "C" fn read_cb<T: CharDevice>(
    filp: *mut bindings::file,
    buf: *mut c_char,
    len: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: An open file of this table, valid for the call.
    let (dev, file) = unsafe { (device_of::<T>(filp), File::from_raw(filp)) };
    // An error becomes a *negative* errno: the C original returned it through
    // an `unsigned int` and handed user space a 4 GB "successful" read.
    match dev.read(file, UserBuf(buf.cast()), len) {
        // Never more than was asked for: an implementation that over-reports
        // must not make user space believe in bytes it never got (nor turn a
        // huge count into a negative "errno").
        Ok(n) => n.min(len).min(isize::MAX as usize) as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `file_operations.poll`.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file that
/// [`open_cb`] opened and that is not yet released.
unsafe extern "C" fn poll_cb<T: CharDevice>(
    filp: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: An open file of this table, valid for the call.
    let (dev, file) = unsafe { (device_of::<T>(filp), File::from_raw(filp)) };
    // INVARIANT: The arguments of this call, for a file that holds `dev`'s
    // `Arc` until `release`; `'a` is the borrow of `dev` passed to `poll`.
    let dev: &T = &dev;
    dev.poll(
        file,
        &PollTable {
            filp,
            table,
            _device: PhantomData,
        },
    )
}

/// `/dev/<name>`, registered for as long as this value lives.
///
/// Drop order is the reverse of creation: device node, class, char device
/// region (no new open can start), then the published slot (an open that
/// started before finds the device, or `ENODEV`). Files already open keep
/// working on their device until closed.
pub(crate) struct Registration<T: CharDevice> {
    _node: DeviceNode,
    _class: Class,
    region: ChrdevRegion,
    _published: Published<T>,
}

impl<T: CharDevice> Registration<T> {
    /// Registers `dev` as the character device `/dev/<name>`; `EBUSY` if
    /// `T::slot()` already holds a device.
    pub(crate) fn new(name: &'static CStr, dev: Arc<T>) -> Result<Self> {
        let published = Published::new(T::slot(), dev)?;
        let region = ChrdevRegion::new(name, Fops::<T>::get())?;
        let class = Class::new(name)?;
        let node = DeviceNode::new(&class, region.devt(), name)?;
        Ok(Self {
            _node: node,
            _class: class,
            region,
            _published: published,
        })
    }

    /// The device's major number.
    pub(crate) fn major(&self) -> u32 {
        self.region.major
    }
}

/// Holds the device and publishes it in a [`DeviceSlot`] until dropped.
///
/// # Invariants
///
/// `slot` points to `dev` (set by `new`, cleared only by `Drop`).
struct Published<T: CharDevice> {
    slot: &'static DeviceSlot<T>,
    _dev: Arc<T>,
}

impl<T: CharDevice> Published<T> {
    /// Publishes `dev`; `EBUSY` if the slot already holds a device (one
    /// registration per slot, or dropping one would unpublish the other).
    fn new(slot: &'static DeviceSlot<T>, dev: Arc<T>) -> Result<Self> {
        // INVARIANT: Only a null slot is set, to the device this value holds.
        slot.0
            .compare_exchange(
                core::ptr::null_mut(),
                core::ptr::from_ref::<T>(&dev).cast_mut(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(|_| EBUSY)?;
        Ok(Self { slot, _dev: dev })
    }
}

impl<T: CharDevice> Drop for Published<T> {
    /// Unpublishes the device, then waits for every `open` that may have
    /// loaded the pointer to take its own reference. May sleep.
    fn drop(&mut self) {
        // INVARIANT: Cleared here, by the value that set it; the `Arc` is
        // released (when the fields drop) only after the grace period.
        self.slot.0.store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: Process context (the registration is dropped where it may
        // sleep, as destroying a device requires).
        unsafe { bindings::synchronize_rcu() };
    }
}

/// A major number with one minor, served by a `file_operations` (C's `register_chrdev()`).
///
/// # Invariants
///
/// `major` was returned by `__register_chrdev()` for `name`, and is unregistered only in `Drop`.
struct ChrdevRegion {
    major: u32,
    name: &'static CStr,
}

impl ChrdevRegion {
    fn new(name: &'static CStr, fops: &'static bindings::file_operations) -> Result<Self> {
        // SAFETY: `name` and `fops` are `'static`.
        let ret = unsafe { bindings::__register_chrdev(0, 0, 1, crate::kapi::c_chars(name), fops) };
        kernel::error::to_result(ret)?;
        // INVARIANT: `ret` is the major just registered for `name`.
        Ok(Self {
            major: ret as u32,
            name,
        })
    }

    /// C's `MKDEV(major, 0)`.
    fn devt(&self) -> bindings::dev_t {
        // SAFETY: `MKDEV()` is arithmetic on two integers.
        unsafe { helpers::simrupt_mkdev(self.major, 0) }
    }
}

impl Drop for ChrdevRegion {
    fn drop(&mut self) {
        // SAFETY: The region was registered by `new` with these arguments.
        unsafe { bindings::__unregister_chrdev(self.major, 0, 1, crate::kapi::c_chars(self.name)) };
    }
}

/// A device class, `/sys/class/<name>` (C's `class_create()`).
///
/// # Invariants
///
/// The pointer came from a successful `class_create()` and is destroyed only in `Drop`.
struct Class(*mut bindings::class);

impl Class {
    fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is `'static`, as the class keeps the pointer.
        let class = from_err_ptr(unsafe { bindings::class_create(crate::kapi::c_chars(name)) })?;
        // INVARIANT: `class_create()` succeeded.
        Ok(Self(class))
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        // SAFETY: The class was created by `new` and its devices are gone
        // (`DeviceNode` drops first).
        unsafe { bindings::class_destroy(self.0) };
    }
}

/// The device in the class: devtmpfs creates `/dev/<name>` for it (C's `device_create()`).
///
/// # Invariants
///
/// A device `devt` was created in `class`, which outlives it, and is destroyed only in `Drop`.
struct DeviceNode {
    class: *mut bindings::class,
    devt: bindings::dev_t,
}

impl DeviceNode {
    fn new(class: &Class, devt: bindings::dev_t, name: &'static CStr) -> Result<Self> {
        // SAFETY: The class is live; "%s" with one string matches the arguments.
        from_err_ptr(unsafe {
            bindings::device_create(
                class.0,
                core::ptr::null_mut(),
                devt,
                core::ptr::null_mut(),
                crate::kapi::c_chars(c"%s"),
                crate::kapi::c_chars(name),
            )
        })?;
        // INVARIANT: `device_create()` succeeded in this live class.
        Ok(Self {
            class: class.0,
            devt,
        })
    }
}

impl Drop for DeviceNode {
    fn drop(&mut self) {
        // SAFETY: The device was created by `new` in this live class.
        unsafe { bindings::device_destroy(self.class, self.devt) };
    }
}

// SAFETY: The class and device pointers are only used to destroy them, which
// any thread may do.
unsafe impl Send for Class {}
// SAFETY: As above.
unsafe impl Sync for Class {}
// SAFETY: As above.
unsafe impl Send for DeviceNode {}
// SAFETY: As above.
unsafe impl Sync for DeviceNode {}
