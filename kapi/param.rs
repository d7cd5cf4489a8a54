// SPDX-License-Identifier: GPL-2.0

//! Module parameters, `insmod simrupt.ko delay=50` and `/sys/module/simrupt/parameters/`.
//!
//! C: `linux/moduleparam.h`. 6.12's `module!` macro has no parameters, so this
//! does what C's `module_param_cb()` does: it places a `struct kernel_param`
//! in the `__param` ELF section, where the module loader finds it, parses the
//! `insmod` arguments through its `set` callback *before* `init` runs, and
//! creates the sysfs file with its `get` callback. A `set` that rejects the
//! value makes `insmod` fail with `EINVAL`: there is no silent default.
//!
//! Values are read as the kernel reads its own parameters of the same kind:
//! numbers as `kstrtouint(text, 0, ...)` does for a C `uint` parameter
//! (`lib/kstrtox.c`; see [`parse_uint`]), booleans as `kstrtobool()` does
//! (see [`parse_bool`]). Each `set` parses first, then validates the number.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{bindings, error::code::EINVAL, prelude::*};

/// A parameter's storage: parses and prints its value.
pub(crate) trait ParamValue: Sync + 'static {
    /// True if the parameter may be given without a value (`insmod m.ko trace`),
    /// which `set` then receives as "1" (C's `KERNEL_PARAM_OPS_FL_NOARG`).
    const NO_ARG: bool = false;

    /// Parses `text` (trailing newline allowed) and stores it, or explains why not.
    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str>;
    /// Writes the current value as text into `out`, returns the length written.
    fn get(&self, out: &mut Writer<'_>);
}

/// Where [`ParamValue::get`] writes: a bounded byte buffer.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// `text` without one trailing newline (what `echo` adds).
fn trim(text: &[u8]) -> &[u8] {
    text.strip_suffix(b"\n").unwrap_or(text)
}

/// Parses an unsigned integer exactly as C's `kstrtouint(text, 0, &v)`, which
/// C's `uint` module parameters use (`param_set_uint()` in `kernel/params.c`).
///
/// One leading `+`; then `0x` or `0X` followed by a hex digit means
/// hexadecimal, another leading `0` octal (so `00` is 0 and `010` is 8),
/// anything else decimal; at least one digit; then at most one `\n`, and
/// nothing else: no spaces, no sign `-`, no other trailing text.
pub(crate) fn parse_uint(text: &[u8]) -> core::result::Result<u32, &'static str> {
    const NOT_A_NUMBER: &str = "expected a number (decimal, 0x hex or 0 octal)";
    let text = text.strip_prefix(b"+").unwrap_or(text);
    // `_parse_integer_fixup_radix()`.
    let (radix, digits) = match text {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &text[2..]),
        [b'0', ..] => (8, text),
        _ => (10, text),
    };
    let mut value: u32 = 0;
    let mut used = 0;
    for &c in digits {
        let Some(d) = char::from(c).to_digit(radix) else {
            break;
        };
        value = value
            .checked_mul(radix)
            .and_then(|v| v.checked_add(d))
            .ok_or("number too large")?;
        used += 1;
    }
    if used == 0 || !matches!(&digits[used..], b"" | b"\n") {
        return Err(NOT_A_NUMBER);
    }
    Ok(value)
}

/// Parses a boolean exactly as C's `kstrtobool()`, which C's `bool` module
/// parameters use: only the first character counts, `y`/`Y`/`t`/`T`/`1` is
/// true, `n`/`N`/`f`/`F`/`0` false, and `on`/`off` (any case) too.
pub(crate) fn parse_bool(text: &[u8]) -> core::result::Result<bool, &'static str> {
    match text {
        [b'y' | b'Y' | b't' | b'T' | b'1', ..] => Ok(true),
        [b'n' | b'N' | b'f' | b'F' | b'0', ..] => Ok(false),
        [b'o' | b'O', b'n' | b'N', ..] => Ok(true),
        [b'o' | b'O', b'f' | b'F', ..] => Ok(false),
        _ => Err("expected 1/0, y/n, t/f or on/off"),
    }
}

/// An unsigned integer parameter accepted only within `min..=max` (or 0, if so made).
pub(crate) struct U32Param {
    value: AtomicU32,
    min: u32,
    max: u32,
    zero_ok: bool,
}

impl U32Param {
    /// A parameter with the given default and accepted range.
    pub(crate) const fn new(default: u32, min: u32, max: u32) -> Self {
        Self {
            value: AtomicU32::new(default),
            min,
            max,
            zero_ok: false,
        }
    }

    /// Like [`U32Param::new`], but 0 ("off") is accepted too.
    pub(crate) const fn new_or_zero(default: u32, min: u32, max: u32) -> Self {
        Self {
            value: AtomicU32::new(default),
            min,
            max,
            zero_ok: true,
        }
    }

    /// The current value (it may change at any time through sysfs if writable).
    pub(crate) fn get(&self) -> u32 {
        self.value.load(Ordering::Relaxed)
    }

    /// Parses `text` (see [`parse_uint`]) and checks the number is in range.
    pub(crate) fn parse(&self, text: &[u8]) -> core::result::Result<u32, &'static str> {
        let v = parse_uint(text)?;
        if (v < self.min || v > self.max) && !(v == 0 && self.zero_ok) {
            return Err("out of range");
        }
        Ok(v)
    }

    /// Stores a value that [`U32Param::parse`] accepted.
    pub(crate) fn store(&self, value: u32) {
        self.value.store(value, Ordering::Relaxed);
    }
}

impl ParamValue for U32Param {
    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str> {
        let v = self.parse(text)?;
        self.store(v);
        Ok(())
    }

    fn get(&self, out: &mut Writer<'_>) {
        let _ = core::fmt::write(out, format_args!("{}\n", self.get()));
    }
}

/// A boolean parameter, parsed as C's `bool` parameters (see [`parse_bool`]).
pub(crate) struct BoolParam(AtomicBool);

impl BoolParam {
    /// A parameter with the given default.
    pub(crate) const fn new(default: bool) -> Self {
        Self(AtomicBool::new(default))
    }

    /// The current value.
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl ParamValue for BoolParam {
    const NO_ARG: bool = true;

    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str> {
        let v = parse_bool(text)?;
        self.0.store(v, Ordering::Relaxed);
        Ok(())
    }

    fn get(&self, out: &mut Writer<'_>) {
        let _ = core::fmt::write(
            out,
            format_args!("{}\n", if self.get() { "Y" } else { "N" }),
        );
    }
}

/// A parameter whose value is one of a fixed list of names.
pub(crate) struct ChoiceParam {
    index: AtomicUsize,
    choices: &'static [&'static str],
    expected: &'static str,
}

impl ChoiceParam {
    /// A parameter accepting one of `choices`, defaulting to the first; `expected` lists them for errors.
    pub(crate) const fn new(choices: &'static [&'static str], expected: &'static str) -> Self {
        Self {
            index: AtomicUsize::new(0),
            choices,
            expected,
        }
    }

    /// The index into `choices` of the current value.
    pub(crate) fn index(&self) -> usize {
        self.index.load(Ordering::Relaxed)
    }
}

impl ParamValue for ChoiceParam {
    fn set(&self, text: &[u8]) -> core::result::Result<(), &'static str> {
        let text = trim(text);
        let i = self
            .choices
            .iter()
            .position(|c| c.as_bytes() == text)
            .ok_or(self.expected)?;
        self.index.store(i, Ordering::Relaxed);
        Ok(())
    }

    fn get(&self, out: &mut Writer<'_>) {
        let name = self.choices.get(self.index()).copied().unwrap_or("?");
        let _ = core::fmt::write(out, format_args!("{}\n", name));
    }
}

/// `kernel_param_ops.set`: parses and stores a value.
///
/// # Safety
///
/// Only the module loader and sysfs call this, with a `kernel_param` built by
/// [`KernelParam::new`] for a `T` (which pairs these callbacks only with a `T`).
unsafe extern "C" fn set_cb<T: ParamValue>(
    val: *const c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    // SAFETY: The loader passes the `kernel_param` built by `KernelParam::new`
    // with `Ops<T>`, so its `arg` is a `&'static T` (type invariant), and
    // it serialises `set` with `kernel_param_lock`.
    let (param, name) = unsafe {
        (
            &*(*kp).__bindgen_anon_1.arg.cast::<T>(),
            crate::kapi::c_str_at((*kp).name),
        )
    };
    // A bare `insmod simrupt.ko trace` passes no value (only to parameters
    // whose ops have `KERNEL_PARAM_OPS_FL_NOARG`): that means "1", as in C.
    let text: &[u8] = if val.is_null() {
        b"1"
    } else {
        // SAFETY: A non-null `val` is a NUL-terminated string valid for the call.
        unsafe { crate::kapi::c_str_at(val) }.to_bytes()
    };
    match param.set(text) {
        Ok(()) => 0,
        Err(why) => {
            pr_err!(
                "invalid value '{}' for parameter '{}': {}\n",
                core::str::from_utf8(trim(text)).unwrap_or("<not UTF-8>"),
                name.to_str().unwrap_or("?"),
                why
            );
            EINVAL.to_errno()
        }
    }
}

/// `kernel_param_ops.get`: prints the value for sysfs.
///
/// # Safety
///
/// As for [`set_cb`]; `buffer` holds `PAGE_SIZE` bytes.
unsafe extern "C" fn get_cb<T: ParamValue>(
    buffer: *mut c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    // SAFETY: As in `set_cb`; sysfs passes a buffer of `PAGE_SIZE` bytes.
    let (param, buf) = unsafe {
        (
            &*(*kp).__bindgen_anon_1.arg.cast::<T>(),
            core::slice::from_raw_parts_mut(buffer.cast::<u8>(), bindings::PAGE_SIZE),
        )
    };
    let mut out = Writer { buf, len: 0 };
    param.get(&mut out);
    out.len as c_int
}

/// The `set`/`get` callbacks for values of type `T` (C's `struct kernel_param_ops`).
///
/// They read the parameter's `arg` as a `T`: [`KernelParam::new`] pairs
/// them with a `T` by taking both from the same type parameter.
struct Ops<T>(PhantomData<T>);

impl<T: ParamValue> Ops<T> {
    const OPS: bindings::kernel_param_ops = bindings::kernel_param_ops {
        flags: if T::NO_ARG {
            bindings::KERNEL_PARAM_OPS_FL_NOARG
        } else {
            0
        },
        set: Some(set_cb::<T>),
        get: Some(get_cb::<T>),
        free: None,
    };

    /// The table, in the module's read-only data.
    const fn get() -> &'static bindings::kernel_param_ops {
        &Self::OPS
    }
}

/// A `struct kernel_param`, placed in the `__param` section by [`module_param!`].
///
/// # Invariants
///
/// `arg` points to a `&'static T` and `ops` are `T`'s ([`Ops<T>`]); `mod_`
/// is this module.
#[repr(transparent)]
pub(crate) struct KernelParam(bindings::kernel_param);

// SAFETY: The loader and sysfs only read the descriptor; the value it points
// to is a `ParamValue`, which is `Sync`.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// Describes the parameter `name` of this module, stored in `value`, with sysfs permissions `perm`.
    ///
    /// # Panics
    ///
    /// If `perm` is world-writable or has bits beyond `0o777`; in the
    /// `static` that [`module_param!`] makes, that is a build error.
    pub(crate) const fn new<T: ParamValue>(
        name: &'static CStr,
        value: &'static T,
        perm: u16,
    ) -> Self {
        // C's `VERIFY_OCTAL_PERMISSIONS()`, at compile time as there (this is
        // a `const fn` used in statics): no world-writable parameter, and no
        // bits beyond rwx.
        assert!(
            perm & 0o002 == 0 && perm <= 0o777,
            "parameter permissions: world-writable or not rwx bits"
        );
        // INVARIANT: The callbacks and `value` are of the same `T`, and the
        // module is this one.
        Self(bindings::kernel_param {
            name: crate::kapi::c_chars(name),
            mod_: crate::kapi::THIS_MODULE,
            ops: Ops::<T>::get(),
            perm,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: core::ptr::from_ref::<T>(value).cast_mut().cast::<c_void>(),
            },
        })
    }
}

/// Copies `text` and a terminating NUL into an array, for the `.modinfo` section.
pub(crate) const fn modinfo<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Declares `$value` (a `static` [`ParamValue`]) as the module parameter `$name`.
///
/// Like C's `module_param_cb(name, &ops, &value, perm)` plus `MODULE_PARM_DESC`.
macro_rules! module_param {
    ($value:ident, $name:literal, $perm:literal, $desc:literal) => {
        const _: () = {
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: $crate::kapi::param::KernelParam = $crate::kapi::param::KernelParam::new(
                match ::core::ffi::CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) {
                    Ok(name) => name,
                    Err(_) => panic!("module_param!: the name contains a NUL"),
                },
                &$value,
                $perm,
            );
            const DESC: &str = concat!("parm=", $name, ":", $desc);
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO: [u8; DESC.len() + 1] = $crate::kapi::param::modinfo(DESC);
        };
    };
}
pub(crate) use module_param;
