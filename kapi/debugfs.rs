// SPDX-License-Identifier: GPL-2.0

//! Text files in debugfs (`/sys/kernel/debug/<dir>/<file>`), backed by `seq_file`.
//!
//! C: `linux/debugfs.h`, `linux/seq_file.h`. 6.12's bindings have `seq_file`
//! but not the debugfs functions, so they are declared here from
//! `include/linux/debugfs.h`. As the kernel's debugfs rules ask, a failure to
//! create a file is not an error for the module: it just has no such file.
//!
//! Each file's `show` runs in process context on `read()`, through
//! `single_open()`; `seq_file` handles partial reads and seeking. Removal
//! (`Drop`) waits for `show`/`write` calls in progress, and an open file holds
//! a module reference (`owner`), so the data outlives every call.

use core::fmt;
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{bindings, prelude::*, uaccess::UserSlice};

/// `struct dentry`, only ever handled by pointer here.
#[repr(C)]
struct Dentry {
    _opaque: [u8; 0],
}

extern "C" {
    fn debugfs_create_dir(name: *const c_char, parent: *mut Dentry) -> *mut Dentry;
    fn debugfs_create_file(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut Dentry,
        data: *mut c_void,
        fops: *const bindings::file_operations,
    ) -> *mut Dentry;
    fn debugfs_remove(dentry: *mut Dentry);
}

/// What a debugfs text file shows, and what writing to it does.
///
/// `ID` tells apart several files backed by the same type (as in
/// `kernel::workqueue::WorkItem<ID>`).
pub(crate) trait DebugFile<const ID: u64>: Sync + 'static {
    /// Writes the whole file's text (called on `read()`, process context).
    fn show(&self, out: &mut SeqWriter<'_>) -> fmt::Result;
    /// Handles a write of `text` (at most 64 bytes); `EINVAL` if not understood.
    fn write(&self, text: &[u8]) -> Result;
}

/// The `seq_file` a [`DebugFile::show`] writes into.
pub(crate) struct SeqWriter<'a> {
    seq: *mut bindings::seq_file,
    _call: core::marker::PhantomData<&'a mut bindings::seq_file>,
}

impl fmt::Write for SeqWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `seq` is the `seq_file` of the `show` call in progress
        // (`SeqWriter` only exists during it); `s` is valid for `s.len()` bytes.
        let ret = unsafe { bindings::seq_write(self.seq, s.as_ptr().cast(), s.len()) };
        // On overflow `seq_file` retries `show` with a larger buffer: not an error here.
        let _ = ret;
        Ok(())
    }
}

/// `single_open`'s show callback.
///
/// # Safety
///
/// Only `seq_read` calls this, for a file opened by [`open_cb`], whose
/// `private` is a `&'static T`.
unsafe extern "C" fn show_cb<T: DebugFile<ID>, const ID: u64>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: `private` is the `T` given to `debugfs_create_file` (see `open_cb`).
    let data = unsafe { &*(*seq).private.cast::<T>() };
    let mut out = SeqWriter {
        seq,
        _call: core::marker::PhantomData,
    };
    let _ = DebugFile::<ID>::show(data, &mut out);
    0
}

/// `file_operations.open`: a `seq_file` over [`show_cb`].
///
/// # Safety
///
/// Only the VFS calls this, for a debugfs file created by [`Dir::file`].
unsafe extern "C" fn open_cb<T: DebugFile<ID>, const ID: u64>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: debugfs stores the `data` of `debugfs_create_file` in `i_private`.
    unsafe { bindings::single_open(file, Some(show_cb::<T, ID>), (*inode).i_private) }
}

/// `file_operations.write`: passes the text to [`DebugFile::write`].
///
/// # Safety
///
/// Only the VFS calls this, for a file opened by [`open_cb`].
unsafe extern "C" fn write_cb<T: DebugFile<ID>, const ID: u64>(
    file: *mut bindings::file,
    buf: *const c_char,
    len: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    let mut text = [0u8; 64];
    let n = len.min(text.len());
    let mut reader = UserSlice::new(buf as usize, n).reader();
    if let Err(e) = reader.read_slice(&mut text[..n]) {
        return e.to_errno() as isize;
    }
    // SAFETY: `single_open` made `private_data` the `seq_file`, whose
    // `private` is the `T` (see `open_cb`).
    let data = unsafe {
        &*(*(*file).private_data.cast::<bindings::seq_file>())
            .private
            .cast::<T>()
    };
    match DebugFile::<ID>::write(data, &text[..n]) {
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A debugfs directory; removing it (on drop) removes its files.
pub(crate) struct Dir {
    dentry: *mut Dentry,
    fops: KVec<KBox<bindings::file_operations>>,
}

// SAFETY: The dentry is only used to add files and to remove it, which any
// thread may do; the `file_operations` are not written after creation.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` gives no access to anything.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>/`; on failure the directory just is not there.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: `name` is a valid string; a null parent means the debugfs root.
        let dentry = unsafe { debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        Self {
            dentry,
            fops: KVec::new(),
        }
    }

    /// Adds the file `name`, mode `mode`, showing `data`, owned by `module`.
    ///
    /// `data` must outlive the directory: the caller drops the `Dir` first.
    pub(crate) fn file<T: DebugFile<ID>, const ID: u64>(
        &mut self,
        name: &'static CStr,
        mode: u16,
        data: &T,
        module: &'static ThisModule,
    ) {
        // SAFETY: All-zero is a valid `file_operations`: every callback `None`.
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        fops.owner = module.as_ptr();
        fops.open = Some(open_cb::<T, ID>);
        fops.read = Some(bindings::seq_read);
        fops.llseek = Some(bindings::seq_lseek);
        fops.release = Some(bindings::single_release);
        fops.write = Some(write_cb::<T, ID>);
        let Ok(fops) = KBox::new(fops, GFP_KERNEL) else {
            return;
        };
        let fops_ptr: *const bindings::file_operations = &*fops;
        // Keep the `file_operations` before any file can point at it.
        if self.fops.push(fops, GFP_KERNEL).is_err() {
            return;
        }
        // SAFETY: The parent is this directory (or an error pointer, which
        // debugfs turns into a no-op); `fops_ptr` lives in `self.fops` until
        // the directory is removed; `data` outlives the directory.
        unsafe {
            debugfs_create_file(
                name.as_char_ptr(),
                mode,
                self.dentry,
                core::ptr::from_ref(data).cast_mut().cast(),
                fops_ptr,
            )
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `dentry` came from `debugfs_create_dir` (error pointers are
        // accepted). This waits for every `show`/`write` in progress, after
        // which no file operation can reach `data` or `fops`.
        unsafe { debugfs_remove(self.dentry) };
    }
}
