// SPDX-License-Identifier: GPL-2.0

//! The few differences between the supported kernels' Rust APIs, in one place.
//!
//! simrupt builds from one tree for Linux 6.12 (LTS) and Linux 7.3. Most C
//! differences are hidden in `helpers.c`; the Rust ones are here, selected by
//! the `kernel_7_3` cfg that `Kbuild` sets from the kernel's own `VERSION` and
//! `PATCHLEVEL` (kernels older than 6.12 or between the two are not supported).
//! Nothing outside this file tests a kernel version.

use kernel::bindings;

/// `HRTIMER_RESTART`: a `c_uint` constant on 6.12, a newtype's constant on 7.3.
#[cfg(not(kernel_7_3))]
pub(crate) const HRTIMER_RESTART: bindings::hrtimer_restart =
    bindings::hrtimer_restart_HRTIMER_RESTART;
/// `HRTIMER_NORESTART`, see [`HRTIMER_RESTART`].
#[cfg(not(kernel_7_3))]
pub(crate) const HRTIMER_NORESTART: bindings::hrtimer_restart =
    bindings::hrtimer_restart_HRTIMER_NORESTART;
/// `HRTIMER_RESTART`: a `c_uint` constant on 6.12, a newtype's constant on 7.3.
#[cfg(kernel_7_3)]
pub(crate) const HRTIMER_RESTART: bindings::hrtimer_restart =
    bindings::hrtimer_restart::HRTIMER_RESTART;
/// `HRTIMER_NORESTART`, see [`HRTIMER_RESTART`].
#[cfg(kernel_7_3)]
pub(crate) const HRTIMER_NORESTART: bindings::hrtimer_restart =
    bindings::hrtimer_restart::HRTIMER_NORESTART;

/// A `kernel::uaccess::UserPtr` for a `__user` pointer: an integer on 6.12, a struct on 7.3.
#[cfg(not(kernel_7_3))]
pub(crate) fn user_ptr(ptr: *mut kernel::ffi::c_void) -> kernel::uaccess::UserPtr {
    ptr as kernel::uaccess::UserPtr
}
/// A `kernel::uaccess::UserPtr` for a `__user` pointer: an integer on 6.12, a struct on 7.3.
#[cfg(kernel_7_3)]
pub(crate) fn user_ptr(ptr: *mut kernel::ffi::c_void) -> kernel::uaccess::UserPtr {
    kernel::uaccess::UserPtr::from_ptr(ptr)
}

/// `kernel::module!` with one author: the key is `author: "..."` on 6.12,
/// `authors: ["..."]` on 7.3.
#[cfg(not(kernel_7_3))]
macro_rules! module_with_author {
    (type: $t:tt, name: $n:tt, author: $a:tt, description: $d:tt, license: $l:tt $(,)?) => {
        module! { type: $t, name: $n, author: $a, description: $d, license: $l, }
    };
}
/// `kernel::module!` with one author: the key is `author: "..."` on 6.12,
/// `authors: ["..."]` on 7.3.
#[cfg(kernel_7_3)]
macro_rules! module_with_author {
    (type: $t:tt, name: $n:tt, author: $a:tt, description: $d:tt, license: $l:tt $(,)?) => {
        module! { type: $t, name: $n, authors: [$a], description: $d, license: $l, }
    };
}
pub(crate) use module_with_author;
