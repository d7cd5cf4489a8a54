# SPDX-License-Identifier: GPL-2.0
# simrupt: build the module against a Rust-enabled kernel, or let the project
# build one and boot it in QEMU.
#
#   make                      build simrupt.ko against KDIR (your running kernel by default)
#   make KDIR=/path/to/build  ... against another Rust-enabled kernel build tree
#   make demo                 build everything needed, boot QEMU, show the pipeline
#   make check                all tests: host (fast_buf) + in-VM (the module)
#   make bench                benchmarks (fast_buf on the host, the pipeline in the VM)
#   make kernel               build (once, cached) the project's test kernel
#   make -s print-kdir        print that test kernel's build tree
#   make check-fresh-root SUITE=bookworm|trixie   make demo + make check in a new minimal Debian root
#   make clean | modules_install

KDIR ?= /lib/modules/$(shell uname -r)/build
# The rustc the kernel in KDIR was built with (Rust objects from different
# compilers do not link). The project's test kernel uses Debian's /usr/bin/rustc.
RUSTC ?= rustc

all: modules

modules modules_install clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) RUSTC=$(RUSTC) $@

kernel:
	@scripts/deps.sh
	@scripts/build-kernel.sh >/dev/null

print-kdir:
	@scripts/build-kernel.sh --print-kdir

demo:
	@scripts/demo.sh

check:
	@tests/run-all.sh

bench:
	@scripts/bench.sh

SUITE ?= bookworm
check-fresh-root:
	@scripts/check-fresh-root.sh --suite $(SUITE) $(FRESH_ROOT_ARGS)

.PHONY: all modules modules_install clean kernel print-kdir demo check bench check-fresh-root
