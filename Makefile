# SPDX-License-Identifier: GPL-2.0
# simrupt: build the module against a Rust-enabled kernel, or let the project
# build one and boot it in QEMU.
#
#   make                      build simrupt.ko against KDIR (your running kernel by default)
#   make KDIR=/path/to/build  ... against another Rust-enabled kernel build tree (6.12 or 7.3)
#   make native [NATIVE_KERNEL=rel]  Debian 13: build simrupt.ko for the machine's own kernel
#   make demo                 build everything needed, boot QEMU, show the pipeline
#   make shell [LESSON=name]  a root shell in the test VM on this terminal: you type insmod,
#                             cat /dev/simrupt, dmesg -w; again in another terminal: a second shell
#   make module               rebuild simrupt.ko for the test kernel (then, in the VM:
#                             rmmod simrupt; insmod /host/simrupt.ko)
#   make check                all tests: host tests once, VM suites on every supported kernel
#   make bench                benchmarks (fast_buf on the host, the pipeline in the VM)
#   make lesson [NAME=name]   list the lessons, or run one: a deliberate mistake, caught by the kernel
#   make kernel               build (once, cached) the project's test kernel
#   make -s print-kdir        print that test kernel's build tree
#   make check-fresh-root SUITE=bookworm|trixie   make demo + make check in a new minimal Debian root
#   make check-fresh-root FRESH_ROOT_ARGS=--backports-qemu   ... with backports' qemu-utils preinstalled
#   make clean | modules_install
#
# KERNEL=6.12|7.3|6.12-kasan picks the project's test kernel for demo, shell, module,
# kernel, print-kdir, bench and lesson (default 6.12, the LTS), and limits check to that
# kernel. 6.12-kasan is 6.12 built with clang and KASAN (kernel/kasan.config): it
# reports any use-after-free or out-of-bounds access, in C or in Rust.

KDIR ?= /lib/modules/$(shell uname -r)/build
# The rustc the kernel in KDIR was built with (Rust objects from different
# compilers do not link). The project's test kernel uses Debian's /usr/bin/rustc.
# Unset, scripts/kdir-rustc.sh finds the one KDIR's configuration names
# (CONFIG_RUSTC_VERSION_TEXT); set, it checks that it is that one.
RUSTC ?=
# The project's test kernel (kernel/supported.sh); the scripts read it from the environment.
export KERNEL LESSON
# A kernel built with clang (the KASAN test kernel, KERNEL=6.12-kasan) needs
# its modules built by the same LLVM: its .config says which clang
# (CONFIG_CLANG_VERSION=190107 is clang 19: LLVM=-19, clang-19 and ld.lld-19).
KDIR_CLANG := $(shell sed -n 's/^CONFIG_CLANG_VERSION=\([1-9][0-9]*\)[0-9]\{4\}$$/\1/p' $(KDIR)/.config 2>/dev/null)
ifneq ($(KDIR_CLANG),)
LLVM ?= $(if $(shell command -v clang-$(KDIR_CLANG)),-$(KDIR_CLANG),1)
endif

all: modules

# A copy of the sources without scripts/ (tests/kapi/run.sh) skips the check.
KDIR_RUSTC := $(wildcard $(CURDIR)/scripts/kdir-rustc.sh)
modules modules_install:
	@rustc=$$($(if $(KDIR_RUSTC),$(KDIR_RUSTC) $(KDIR) $(RUSTC),echo $(or $(RUSTC),rustc))) && \
	  $(MAKE) -C $(KDIR) M=$(CURDIR) RUSTC=$$rustc $(if $(LLVM),LLVM=$(LLVM)) $@

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(RUSTC),RUSTC=$(RUSTC)) $(if $(LLVM),LLVM=$(LLVM)) $@

# Build simrupt.ko for this machine's own Debian 13 kernel (or NATIVE_KERNEL=
# a release, e.g. 7.3.4+deb13-amd64): scripts/native.sh, Documentation/native.md.
native:
	@scripts/native.sh $(if $(NATIVE_KERNEL),--release $(NATIVE_KERNEL))

kernel:
	@scripts/deps.sh
	@scripts/build-kernel.sh >/dev/null

print-kdir:
	@scripts/build-kernel.sh --print-kdir

demo:
	@scripts/demo.sh

shell:
	@scripts/shell.sh

module:
	@scripts/shell.sh --module

check:
	@tests/run-all.sh

bench:
	@scripts/bench.sh

lesson:
	@scripts/lesson.sh $(if $(NAME),run $(NAME),list)

SUITE ?= bookworm
check-fresh-root:
	@scripts/check-fresh-root.sh --suite $(SUITE) $(FRESH_ROOT_ARGS)

.PHONY: all modules modules_install clean native kernel print-kdir demo shell module check bench lesson check-fresh-root
