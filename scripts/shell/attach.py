#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Another terminal into a running `make shell` VM.

    scripts/shell/attach.py RUNDIR

The VM's second and third serial ports (the guest's /dev/ttyS1, /dev/ttyS2)
are UNIX sockets in RUNDIR. This takes the first one no other terminal holds,
puts this terminal in raw mode, and copies bytes both ways until the guest's
shell on that port exits (it then prints a marker, see scripts/shell.sh) or
the learner presses Ctrl-] to detach (the shell keeps running; the next
attach finds it). The terminal's settings are restored on every way out.
"""
import fcntl
import os
import select
import socket
import sys
import termios
import tty

DETACH_KEY = b"\x1d"  # Ctrl-]
# What the guest prints when the shell on this port exits (scripts/shell.sh).
EXIT_MARKER = b"\x1b]simrupt;shell-exited\x07"


def take_port(rundir):
    """Connect to the first port that no other attach holds (a lock file each)."""
    for n in (1, 2):
        sock_path = os.path.join(rundir, f"ttyS{n}.sock")
        if not os.path.exists(sock_path):
            continue
        lock = open(os.path.join(rundir, f"ttyS{n}.lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        return n, s, lock
    return None, None, None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    rundir = sys.argv[1]
    if not os.isatty(0):
        sys.exit("attach: needs a terminal on standard input")
    n, s, lock = take_port(rundir)
    if s is None:
        sys.exit("attach: both extra terminals of this VM are in use (ttyS1, ttyS2)")
    print(f"[shell] terminal {n + 1} of the VM (guest /dev/ttyS{n}); "
          "leave with exit or Ctrl-D; Ctrl-] detaches", flush=True)
    saved = termios.tcgetattr(0)
    tail = b""
    try:
        tty.setraw(0)
        # Wake the port: the guest waits for Enter before it starts a shell
        # there, and an Enter gives a running shell a fresh prompt.
        s.sendall(b"\r")
        while True:
            ready, _, _ = select.select([0, s], [], [])
            if 0 in ready:
                data = os.read(0, 1024)
                if not data or DETACH_KEY in data:
                    break
                s.sendall(data)
            if s in ready:
                data = s.recv(4096)
                if not data:
                    break
                os.write(1, data)
                tail = (tail + data)[-64:]
                if EXIT_MARKER in tail:
                    break
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
        s.close()
        lock.close()
    print("\r\n[shell] left terminal", n + 1, "(the VM keeps running)", flush=True)


if __name__ == "__main__":
    main()
