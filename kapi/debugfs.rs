// SPDX-License-Identifier: GPL-2.0

//! Text files in debugfs (`/sys/kernel/debug/<dir>/<file>`), backed by `seq_file`.
//!
//! C: `linux/debugfs.h`, `linux/seq_file.h`. The debugfs functions are
//! reached through `helpers.c` (6.12's bindings lack them, and 7.3 made
//! `debugfs_create_file()` a macro). As the kernel's debugfs rules ask, a
//! failure to create a file is not an error for the module: it just has no
//! such file.
//!
//! Upstream: Linux 7.3 has `kernel::debugfs`, whose files are typed values
//! (`File<T>`) with fixed modes (0400/0600/0200) and `Display`-based output;
//! simrupt needs a free-form text file that is readable by all and resettable
//! by root (0644), so it keeps this small `seq_file` wrapper.
//!
//! Each file's `show` runs in process context on `read()`, through
//! `single_open()`; `seq_file` handles partial reads and seeking. Each file
//! holds an `Arc` of its data, released only after removal (`Drop`), which
//! waits for `show`/`write` calls in progress, so the data outlives every call.
//!
//! A file may still be open when its directory is removed: debugfs then
//! fails its `read()`/`write()` with `EIO`, but calls its real `release` at
//! the last `close()`. So the `file_operations` are one constant table per
//! data type and `ID` (as upstream's `kernel::debugfs` has), in the module's
//! read-only data, whose `owner` is this module: debugfs takes a module
//! reference for each open file, so the table outlives every open file.

use super::helpers;
use core::ffi::CStr;
use core::fmt;
use core::marker::PhantomData;
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{bindings, prelude::*, sync::Arc, uaccess::UserSlice};

/// What a debugfs text file shows, and what writing to it does.
///
/// `ID` tells apart several files backed by the same type (as in
/// `kernel::workqueue::WorkItem<ID>`).
pub(crate) trait DebugFile<const ID: u64>: Send + Sync + 'static {
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
/// `private` is the data of a live [`Dir::file`] entry.
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

/// The `file_operations` of a file showing a `T` (one constant table per `T` and `ID`).
struct Fops<T, const ID: u64>(PhantomData<T>);

impl<T: DebugFile<ID>, const ID: u64> Fops<T, ID> {
    const FOPS: bindings::file_operations = {
        // SAFETY: All-zero is a valid `file_operations`: every callback `None`.
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        // debugfs takes a reference to this module for each open file: the
        // table and the callbacks outlive every open file.
        fops.owner = crate::kapi::THIS_MODULE;
        fops.open = Some(open_cb::<T, ID>);
        fops.read = Some(bindings::seq_read);
        fops.llseek = Some(bindings::seq_lseek);
        fops.release = Some(bindings::single_release);
        fops.write = Some(write_cb::<T, ID>);
        fops
    };

    /// The table, in the module's read-only data.
    const fn get() -> &'static bindings::file_operations {
        &Self::FOPS
    }
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
    let mut reader = UserSlice::new(super::compat::user_ptr(buf.cast_mut().cast()), n).reader();
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

/// A debugfs directory; removing it (on drop) removes its files, then releases their data.
///
/// # Invariants
///
/// Every file created in `dentry` has a reference to its data in `files`,
/// released only after `dentry` is removed. Its `file_operations` are a
/// constant (see [`Fops`]).
pub(crate) struct Dir {
    /// The directory's `struct dentry`.
    dentry: *mut c_void,
    files: KVec<FileEntry>,
}

/// What one file needs to outlive its calls: its data.
///
/// # Invariants
///
/// `data` came from `Arc::<T>::into_raw` for the `T` that `release` is
/// instantiated with, and only this entry gives it back (on drop).
struct FileEntry {
    data: *const c_void,
    release: unsafe fn(*const c_void),
}

impl Drop for FileEntry {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `release` matches `data`, which is
        // given back only here.
        unsafe { (self.release)(self.data) };
    }
}

/// Gives back the `Arc<T>` that [`Dir::file`] turned into a raw pointer.
///
/// # Safety
///
/// `data` must come from `Arc::<T>::into_raw`, and be released only once.
unsafe fn release_arc<T>(data: *const c_void) {
    // SAFETY: Per the contract, this is the pointer of an `Arc<T>` whose
    // reference the caller owns.
    drop(unsafe { Arc::<T>::from_raw(data.cast()) });
}

// SAFETY: The dentry is only used to add files and to remove it, which any
// thread may do; the data pointers are those of `Arc<T>` with `T: Send + Sync`.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` gives no access to anything.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>/`; on failure the directory just is not there.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: `name` is a valid string; a null parent means the debugfs root.
        let dentry = unsafe { helpers::simrupt_debugfs_create_dir(crate::kapi::c_chars(name)) };
        // INVARIANT: No file yet.
        Self {
            dentry,
            files: KVec::new(),
        }
    }

    /// Adds the file `name` with permissions `mode` (at most `0o777`), showing `data`.
    ///
    /// The directory keeps a reference to `data` until it is removed. A mode
    /// with other bits (a file type, setuid...) is refused with a warning:
    /// debugfs would `BUG()` on a directory's type bits. As for any failure
    /// to create a debugfs file, the file is then just not there.
    pub(crate) fn file<T: DebugFile<ID>, const ID: u64>(
        &mut self,
        name: &'static CStr,
        mode: u16,
        data: Arc<T>,
    ) {
        if mode & !0o777 != 0 {
            pr_warn!(
                "debugfs: mode {:#o} is not only permissions; no file\n",
                mode
            );
            return;
        }
        let data = Arc::into_raw(data).cast::<c_void>();
        // INVARIANT: `data` comes from `Arc::<T>::into_raw`, paired with `release_arc::<T>`.
        let entry = FileEntry {
            data,
            release: release_arc::<T>,
        };
        // Keep the data before any file can point at it.
        if self.files.push(entry, GFP_KERNEL).is_err() {
            return; // The entry was dropped, giving its data back: no file.
        }
        // INVARIANT: The entry is in `self.files` before the file exists.
        // SAFETY: The parent is this directory (or an error pointer, which
        // debugfs turns into a no-op); the mode is a regular file's
        // permissions; the table is `'static`, and `data` lives in
        // `self.files` until the directory is removed.
        unsafe {
            helpers::simrupt_debugfs_create_file(
                crate::kapi::c_chars(name),
                mode,
                self.dentry,
                data.cast_mut(),
                core::ptr::from_ref(Fops::<T, ID>::get()).cast(),
            )
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `dentry` came from `debugfs_create_dir` (error pointers are
        // accepted). This waits for every `show`/`write` in progress, after
        // which no file operation can reach `data`: files still open get
        // `EIO`, and their `release` (`single_release`) does not touch it.
        unsafe { helpers::simrupt_debugfs_remove(self.dentry) };
        // Then `files` drops: each entry gives its data back, after its file
        // is gone (type invariant).
    }
}
