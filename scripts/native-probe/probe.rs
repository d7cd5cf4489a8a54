// SPDX-License-Identifier: GPL-2.0

//! A probe for `make native`: the smallest Rust module, built (never loaded)
//! to see which crate hashes a module compiled against the rebuilt metadata
//! links to.
//!
//! `pr_info!` calls `kernel::print::call_printk`, so the probe's object names
//! the `kernel` crate's hash; scripts/native.sh compares it with the hashes
//! in the kernel's `Module.symvers`.

use kernel::prelude::*;

module! {
    type: Probe,
    name: "simrupt_native_probe",
    description: "scripts/native.sh's check of the rebuilt Rust metadata",
    license: "GPL",
}

struct Probe;

impl kernel::Module for Probe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("probe\n");
        Ok(Probe)
    }
}
