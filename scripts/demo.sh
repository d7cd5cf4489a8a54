#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: from a fresh clone, install what is missing, build the test
# kernel (once) and the module, boot QEMU, and show the pipeline at work.
#   SIMRUPT_DEMO_ARGS="timer=timer_list bottom_half=bh_wq" make demo
#   make demo KERNEL=7.3
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"
t0=$(date +%s)
step() { printf '\n\033[1m[%d/6] %s\033[0m\n' "$1" "$2"; }

step 1 "Installing what is missing (Debian packages, bindgen)"
scripts/deps.sh

. kernel/supported.sh
kv=${KERNEL:-$SIMRUPT_DEFAULT_KERNEL}
kernel_check "$kv"
step 2 "Linux $kv with CONFIG_RUST=y (built once, 4 to 10 minutes on 2 cores; then cached)"
kdir=$(scripts/build-kernel.sh --kernel "$kv" | tail -n 1)

step 3 "Building simrupt.ko against it: make KDIR=$kdir"
make -s KDIR="$kdir" clean >/dev/null 2>&1   # objects of another kernel must not be reused
make -s KDIR="$kdir" RUSTC=/usr/bin/rustc

step 4 "Booting it in QEMU (2 virtual CPUs, software emulation), running the demo"
# Everything the demo writes goes to out/demo/ in the clone (git ignores out/).
out=$here/out/demo
mkdir -p "$out"
guest=$(mktemp /tmp/simrupt-demo.XXXXXX)
# The guest script gets the module parameters, if any.
{ echo "set -- ${SIMRUPT_DEMO_ARGS:-}"; cat tests/guest/demo.sh; } > "$guest"
# The console, as the guest prints it, minus the trace's base64 lines.
scripts/vm.sh --kdir "$kdir" --live --timeout 300 --log "$out/console.log" "$guest" tests/guest/trace.sh |
  awk '/^SIMRUPT-GUEST-START/ { on = 1 }
       on && /^SIMRUPT-TRACE-BEGIN/ { print "    (the raw trace crosses the serial console here, as gzip + base64)"; skip = 1 }
       on && !skip { print; fflush() }
       /^SIMRUPT-TRACE-END/ { skip = 0 }
       /^SIMRUPT-GUEST-EXIT/ { on = 0 }'
rm -f "$guest"

step 5 "Drawing one tick from the kernel's trace (scripts/timeline.py)"
python3 scripts/timeline.py --out-dir "$out" "$out/console.log" | sed 's/^/  /'

step 6 "Done in $(( $(date +%s) - t0 )) s"
cat <<'TXT'
What you saw:
  enter timer_handler / produce data / scheduling tasklet / timer_handler in_irq
      the top half, in hard-IRQ context, interrupts off: it must be quick
  simrupt_tasklet_func in_softirq
      the bottom half, in softirq context: it may not sleep, so it queues work
  simrupt_work_func
      the work item, in process context on the simruptd workqueue: it may sleep
      and take mutexes; it moves bytes from fast_buf into the kfifo and wakes cat
  ' !"#$%&'()*+,-./0123...'
      what cat read: one byte per timer tick
  the timeline (step 5)
      the same stages, from the kernel's trace events: where each ran, for how long
Try: SIMRUPT_DEMO_ARGS="timer=timer_list bottom_half=bh_wq delay=50" make demo
Start here: the chapter, Documentation/chapter/README.md; you type its commands in 'make shell'.

TXT
cat <<TXT
The timeline of one tick, and the trace it was drawn from:
  $out/one-tick.svg   open it in a web browser: one lane per CPU, one bar per stage
  $out/trace.txt      the raw ftrace text; https://ui.perfetto.dev, "Open trace file"
  $out/trace.json     every recorded tick's stages as Chrome JSON trace events (Perfetto too)
TXT
