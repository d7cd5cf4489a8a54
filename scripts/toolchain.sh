# SPDX-License-Identifier: GPL-2.0
# Which Rust toolchain builds what on the host. Sourced, not run.
#
# Everything is built with Debian's own toolchain, the one scripts/deps.sh
# installs: `rustc-web`, `cargo-web`, `rustfmt-web` and `rust-web-clippy`, all
# in /usr/bin. The test kernel is built with it, and a fresh Debian machine has
# nothing else. Only what needs a nightly compiler (Miri, ThreadSanitizer) uses
# rustup, and only where rustup is installed.
#
# The paths are named explicitly because on machines with rustup, rustup's
# proxies in ~/.cargo/bin usually come first on PATH, and cargo looks its
# `fmt` and `clippy` subcommands up on PATH.
#
#   debian_rust_env        export CARGO, RUSTC, RUSTDOC, RUSTFMT, CLIPPY_DRIVER
#                          pointing into /usr/bin, and put /usr/bin first on PATH
#   debian_rust_missing    print the missing Debian packages of that toolchain
#   find_rustup            print the path of rustup, if installed (fails if not)
#   NIGHTLY_ENABLE_HINT    the one command that gives a machine without rustup
#                          the nightly toolchain, for the suites that need it

# The toolchain's packages and a program each one installs.
declare -A DEBIAN_RUST_PKGS=(
  [rustc-web]=/usr/bin/rustc
  [cargo-web]=/usr/bin/cargo
  [rustfmt-web]=/usr/bin/rustfmt
  [rust-web-clippy]=/usr/bin/clippy-driver
)

debian_rust_env() {
  export CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
  export RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver
  export PATH="/usr/bin:/bin:$PATH"
  # Left over from a caller run by rustup, these would pick another toolchain.
  unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER
}

debian_rust_missing() {
  local p
  for p in "${!DEBIAN_RUST_PKGS[@]}"; do
    [ -x "${DEBIAN_RUST_PKGS[$p]}" ] || echo "$p"
  done
}

find_rustup() {
  PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" command -v rustup
}

# rustup's installer, not `apt install rustup`: on Debian 13 the rustup package
# conflicts with rustc-web, and installing it removes the kernel's compiler.
# `curl` itself is `apt-get install curl`.
NIGHTLY_ENABLE_HINT="curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain nightly -c miri,rust-src"
