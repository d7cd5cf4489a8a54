// SPDX-License-Identifier: GPL-2.0

//! A character device with a node in `/dev`, and the file operations behind it.
//!
//! C: `linux/fs.h` (`register_chrdev()`, `struct file_operations`) and
//! `linux/device.h` (`class_create()`, `device_create()`). Creating a device in
//! a class makes devtmpfs (and udev, where present) create `/dev/<name>`.
//!
//! The C callbacks find the Rust device through [`DeviceSlot`], the Rust form
//! of the C original's globals. That is sound because the module cannot be
//! unloaded while a file is open: `file_operations.owner` is this module, so
//! each open file holds a module reference, and `rmmod` answers "in use".

use crate::kapi::{helpers, waitqueue::WaitQueue};
use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{
    bindings,
    error::code::EBUSY,
    error::from_err_ptr,
    prelude::*,
    sync::{Arc, ArcBorrow},
    ThisModule,
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

    /// True if the file was opened with `O_NONBLOCK`.
    pub(crate) fn is_nonblocking(&self) -> bool {
        // SAFETY: The file is valid (`from_raw` contract); `f_flags` is stable during a call.
        let flags = unsafe { (*self.0.get()).f_flags };
        flags & bindings::O_NONBLOCK != 0
    }
}

/// The `poll_table` of a `poll()` call in progress.
pub(crate) struct PollTable {
    filp: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
}

impl PollTable {
    /// Registers the caller on `queue`: a wake-up of `queue` re-runs `poll` (C's `poll_wait()`).
    pub(crate) fn register(&self, queue: &WaitQueue) {
        // SAFETY: `filp` and `table` are the arguments of the `poll` call in
        // progress; `PollTable` only exists for its duration.
        unsafe { queue.poll_wait(self.filp, self.table) };
    }
}

/// `poll()` mask bits (`include/uapi/linux/eventpoll.h`).
pub(crate) const EPOLLIN: u32 = 0x0001;
/// See [`EPOLLIN`].
pub(crate) const EPOLLRDNORM: u32 = 0x0040;

/// What a character device does; the methods run in process context and may sleep.
pub(crate) trait CharDevice: Send + Sync + Sized + 'static {
    /// Where the registered device is published for the C callbacks.
    fn slot() -> &'static DeviceSlot<Self>;
    /// `open()`; `this` may be cloned into an `Arc` that outlives the call.
    fn open(this: ArcBorrow<'_, Self>, file: &File) -> Result;
    /// The last `close()` of an open file.
    fn release(&self, file: &File);
    /// `read()`: copy at most `len` bytes to user memory at `buf`.
    fn read(&self, file: &File, buf: UserBuf, len: usize) -> Result<usize>;
    /// `poll()`/`select()`/`epoll`: register on wait queues, return the ready mask.
    fn poll(&self, file: &File, table: &PollTable) -> u32;
}

/// A published pointer to the registered device.
///
/// # Invariants
///
/// The pointer is null, or points to the `T` of the `Arc<T>` held by the one
/// live `Published<T>` that set it; it is cleared when that is dropped.
pub(crate) struct DeviceSlot<T>(AtomicPtr<T>);

impl<T: CharDevice> DeviceSlot<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Null.
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// The registered device.
    ///
    /// # Safety
    ///
    /// Only callable from a file operation of the registered device: the slot
    /// is set before the device is registered and cleared after it is gone,
    /// and open files pin the module (see the module docs).
    unsafe fn get<'a>(&self) -> ArcBorrow<'a, T> {
        // SAFETY: Per the contract, the pointer is set; it came from
        // `Arc::as_ptr` of the `Arc` that `Registration` holds, which outlives the call.
        unsafe { ArcBorrow::from_raw(self.0.load(Ordering::Acquire)) }
    }
}

/// `file_operations.open` of the registered device.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file of the device
/// registered by [`Registration::new`].
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
    // SAFETY: Called as a file operation of the registered device; `filp` is valid.
    let (dev, file) = unsafe { (T::slot().get(), File::from_raw(filp)) };
    match T::open(dev, file) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `file_operations.release` of the registered device.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file of the device
/// registered by [`Registration::new`].
unsafe extern "C" fn release_cb<T: CharDevice>(
    _inode: *mut bindings::inode,
    filp: *mut bindings::file,
) -> c_int {
    // SAFETY: Called as a file operation of the registered device; `filp` is valid.
    let (dev, file) = unsafe { (T::slot().get(), File::from_raw(filp)) };
    dev.release(file);
    0
}

/// `file_operations.read` of the registered device.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file of the device
/// registered by [`Registration::new`].
unsafe extern "C" fn read_cb<T: CharDevice>(
    filp: *mut bindings::file,
    buf: *mut c_char,
    len: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: Called as a file operation of the registered device; `filp` is valid.
    let (dev, file) = unsafe { (T::slot().get(), File::from_raw(filp)) };
    // An error becomes a *negative* errno: the C original returned it through
    // an `unsigned int` and handed user space a 4 GB "successful" read.
    match dev.read(file, UserBuf(buf.cast()), len) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `file_operations.poll` of the registered device.
///
/// # Safety
///
/// Only the VFS calls this, with valid arguments, for a file of the device
/// registered by [`Registration::new`].
unsafe extern "C" fn poll_cb<T: CharDevice>(
    filp: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: Called as a file operation of the registered device; `filp` is valid.
    let (dev, file) = unsafe { (T::slot().get(), File::from_raw(filp)) };
    dev.poll(file, &PollTable { filp, table })
}

/// `/dev/<name>`, registered for as long as this value lives.
///
/// Drop order is the reverse of creation: device node, class, char device
/// region, then the published slot.
pub(crate) struct Registration<T: CharDevice> {
    _node: DeviceNode,
    _class: Class,
    region: ChrdevRegion,
    _published: Published<T>,
    _fops: KBox<bindings::file_operations>,
}

impl<T: CharDevice> Registration<T> {
    /// Registers `dev` as the character device `/dev/<name>`, owned by `module`.
    pub(crate) fn new(
        name: &'static CStr,
        dev: Arc<T>,
        module: &'static ThisModule,
    ) -> Result<Self> {
        // SAFETY: All-zero is a valid `file_operations`: every callback `None`.
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        fops.owner = module.as_ptr();
        fops.open = Some(open_cb::<T>);
        fops.release = Some(release_cb::<T>);
        fops.read = Some(read_cb::<T>);
        fops.poll = Some(poll_cb::<T>);
        let fops = KBox::new(fops, GFP_KERNEL)?;

        let published = Published::new(dev)?;
        let region = ChrdevRegion::new(name, &fops)?;
        let class = Class::new(name)?;
        let node = DeviceNode::new(&class, region.devt(), name)?;
        Ok(Self {
            _node: node,
            _class: class,
            region,
            _published: published,
            _fops: fops,
        })
    }

    /// The device's major number.
    pub(crate) fn major(&self) -> u32 {
        self.region.major
    }
}

// SAFETY: The registration only holds C objects that any thread may destroy,
// and a `file_operations` that is never written after registration.
unsafe impl<T: CharDevice> Send for Registration<T> {}
// SAFETY: `&Registration` only reads the major number.
unsafe impl<T: CharDevice> Sync for Registration<T> {}

/// Holds the device and publishes it in its [`DeviceSlot`] until dropped.
struct Published<T: CharDevice> {
    _dev: Arc<T>,
}

impl<T: CharDevice> Published<T> {
    /// Publishes `dev`; `EBUSY` if the slot already holds a device (one
    /// registration per slot, or dropping one would unpublish the other).
    fn new(dev: Arc<T>) -> Result<Self> {
        // INVARIANT: Only a null slot is set, to the device this value holds.
        T::slot()
            .0
            .compare_exchange(
                core::ptr::null_mut(),
                core::ptr::from_ref::<T>(&dev).cast_mut(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(|_| EBUSY)?;
        Ok(Self { _dev: dev })
    }
}

impl<T: CharDevice> Drop for Published<T> {
    fn drop(&mut self) {
        T::slot().0.store(core::ptr::null_mut(), Ordering::Release);
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
    fn new(name: &'static CStr, fops: &KBox<bindings::file_operations>) -> Result<Self> {
        // SAFETY: `name` is `'static`; `fops` lives in the `Registration`,
        // which unregisters this region before freeing it.
        let ret =
            unsafe { bindings::__register_chrdev(0, 0, 1, crate::kapi::c_chars(name), &**fops) };
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
