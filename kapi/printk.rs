// SPDX-License-Identifier: GPL-2.0

//! `printk()` with a C format string, checked at compile time against its arguments.
//!
//! C: `linux/printk.h`. Rust's `pr_info!` formats with `core::fmt`: it hands
//! `printk()` the format `"%pA"` and a pointer to Rust's arguments, and
//! `vsprintf()` calls back into Rust to format them, twice the work of a C
//! `pr_info()`. In the hard-IRQ top half that shows (see
//! `Documentation/benchmarks.md`), so simrupt's trace lines use this instead:
//! the same single pass through `vsprintf()` as C.
//!
//! Passing a C format string and variadic arguments is only sound if they
//! match, which C compilers check with `__printf()`. Here a [`Format`] can only
//! be made by a constant evaluation that compares the string's conversions
//! with the argument types (`%u` for `u32`, `%llu` for `u64`, nothing else),
//! so a mismatch is a compile error, not undefined behaviour. Which types
//! exist, and their conversions, is what that check trusts: [`Arg`] and
//! [`Args`] are `unsafe trait`s, so a new one takes an `unsafe impl` that
//! states why its conversion is right.

use core::ffi::CStr;
use core::marker::PhantomData;
use kernel::bindings;

/// One argument type a [`Format`] accepts, and its conversion.
///
/// # Safety
///
/// `CONVERSION` must be a `printk` conversion that reads exactly one variadic
/// argument, of the C type that a `Self` passed through `...` is: `vsprintf()`
/// trusts it (`%s` for an integer would make it dereference the integer).
pub(crate) unsafe trait Arg: Copy {
    /// The `printk` conversion for this type.
    const CONVERSION: &'static [u8];
}

// SAFETY: `%u` reads one `unsigned int`, which a `u32` is in C's ABI.
unsafe impl Arg for u32 {
    const CONVERSION: &'static [u8] = b"%u";
}

// SAFETY: `%llu` reads one `unsigned long long`, which a `u64` is in C's ABI.
unsafe impl Arg for u64 {
    const CONVERSION: &'static [u8] = b"%llu";
}

/// The arguments of one `printk()` call, as a tuple of [`Arg`]s.
///
/// # Safety
///
/// `printk` must pass exactly the arguments that `CONVERSIONS` describes, in
/// order: [`Format::print`] trusts it. The implementations below, for tuples
/// of [`Arg`]s, are the only ones meant to exist.
pub(crate) unsafe trait Args: Copy {
    /// The conversions a format must have, in order.
    const CONVERSIONS: &'static [&'static [u8]];

    /// Calls `_printk(fmt, ...)` with these arguments.
    ///
    /// # Safety
    ///
    /// `fmt` must be a NUL-terminated format whose conversions are exactly
    /// [`Args::CONVERSIONS`].
    unsafe fn printk(self, fmt: *const kernel::ffi::c_char);
}

// SAFETY: No conversion, no argument.
unsafe impl Args for () {
    const CONVERSIONS: &'static [&'static [u8]] = &[];

    unsafe fn printk(self, fmt: *const kernel::ffi::c_char) {
        // SAFETY: The caller guarantees a format without conversions.
        unsafe { bindings::_printk(fmt) };
    }
}

// SAFETY: One argument, converted by `A::CONVERSION` (`Arg`'s contract).
unsafe impl<A: Arg> Args for (A,) {
    const CONVERSIONS: &'static [&'static [u8]] = &[A::CONVERSION];

    unsafe fn printk(self, fmt: *const kernel::ffi::c_char) {
        // SAFETY: The caller guarantees one conversion, `A::CONVERSION`,
        // which reads one argument of `A`'s C type (`Arg`'s contract).
        unsafe { bindings::_printk(fmt, self.0) };
    }
}

// SAFETY: As for `(A,)`, for two arguments in this order.
unsafe impl<A: Arg, B: Arg> Args for (A, B) {
    const CONVERSIONS: &'static [&'static [u8]] = &[A::CONVERSION, B::CONVERSION];

    unsafe fn printk(self, fmt: *const kernel::ffi::c_char) {
        // SAFETY: As for `(A,)`, for two conversions in this order.
        unsafe { bindings::_printk(fmt, self.0, self.1) };
    }
}

// SAFETY: As for `(A,)`, for three arguments in this order.
unsafe impl<A: Arg, B: Arg, C: Arg> Args for (A, B, C) {
    const CONVERSIONS: &'static [&'static [u8]] = &[A::CONVERSION, B::CONVERSION, C::CONVERSION];

    unsafe fn printk(self, fmt: *const kernel::ffi::c_char) {
        // SAFETY: As for `(A,)`, for three conversions in this order.
        unsafe { bindings::_printk(fmt, self.0, self.1, self.2) };
    }
}

/// True if `fmt`'s conversions are exactly `expected`, in order (`%%` is a literal `%`).
const fn conversions_match(fmt: &[u8], expected: &[&[u8]]) -> bool {
    let (mut i, mut k) = (0, 0);
    while i < fmt.len() {
        if fmt[i] != b'%' {
            i += 1;
            continue;
        }
        if i + 1 < fmt.len() && fmt[i + 1] == b'%' {
            i += 2;
            continue;
        }
        if k == expected.len() {
            return false;
        }
        let conv = expected[k];
        let mut j = 0;
        while j < conv.len() {
            if i + j >= fmt.len() || fmt[i + j] != conv[j] {
                return false;
            }
            j += 1;
        }
        i += conv.len();
        k += 1;
    }
    k == expected.len()
}

/// A `printk()` format whose conversions match the argument tuple `A`.
///
/// # Invariants
///
/// `fmt`'s conversions are exactly `A::CONVERSIONS` (checked by [`Format::new`]).
pub(crate) struct Format<A: Args> {
    fmt: &'static CStr,
    _args: PhantomData<A>,
}

impl<A: Args> Format<A> {
    /// Checks `fmt` against `A`; use it in a constant, where a mismatch stops the build.
    pub(crate) const fn new(fmt: &'static CStr) -> Self {
        assert!(
            conversions_match(fmt.to_bytes(), A::CONVERSIONS),
            "printk format does not match its arguments"
        );
        // INVARIANT: Checked just above.
        Self {
            fmt,
            _args: PhantomData,
        }
    }

    /// Logs the line (C's `printk(fmt, ...)`). Any context, hard IRQ included.
    pub(crate) fn print(&self, args: A) {
        // SAFETY: `fmt` is NUL-terminated and its conversions are exactly
        // `A::CONVERSIONS` (type invariant), which `A::printk` passes (`Args`'s contract).
        unsafe { args.printk(super::c_chars(self.fmt)) };
    }
}

/// Logs an info line prefixed like `pr_info!` (`simrupt: `), with C `printk` conversions.
///
/// `printk_info!("[CPU#%u] took %llu ns\n", cpu: u32, ns: u64)`: each argument
/// names its type, and the format must have the matching conversions, in
/// order, or the module does not compile.
macro_rules! printk_info {
    ($fmt:literal $(, $arg:expr => $ty:ty)* $(,)?) => {{
        const FORMAT: $crate::kapi::printk::Format<($($ty,)*)> =
            $crate::kapi::printk::Format::new(
                match ::core::ffi::CStr::from_bytes_with_nul(
                    concat!("\x016simrupt: ", $fmt, "\0").as_bytes(),
                ) {
                    Ok(fmt) => fmt,
                    Err(_) => panic!("printk_info!: the format contains a NUL"),
                },
            );
        FORMAT.print(($($arg,)*));
    }};
}
pub(crate) use printk_info;
