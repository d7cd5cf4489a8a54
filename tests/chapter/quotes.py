#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The chapter's quoted outputs against the committed captures.

    tests/chapter/quotes.py check      "ok/FAIL chapter-..." lines; exit 1 on a FAIL
    tests/chapter/quotes.py update     rewrite the quoted blocks from the captures

A ```console block in Documentation/chapter/*.md or README.md that quotes a
capture (or a ```text block: only a marked one is checked) is preceded by a
marker line naming it, relative to the quoting file's directory:

    <!-- quote: transcript-6.12.txt -->        (optionally " #N": see below)

check:
  chapter-quotes       every line of every marked block, except a line "...",
                       is a line of the capture it names;
  chapter-rustc-lines  every rustc excerpt quoted in the chapter or in
                       lessons/*.txt ("--> simrupt.rs:N:C" or "--> lessons.rs:N:C",
                       then "N | code" lines) still points at that code in the
                       current file: line N of it is the quoted code;
  chapter-quotes-sourced  every ```console block names its capture.

update: a marked block whose lines include prompts "(vm) / # CMD" is
rebuilt from the capture: each CMD, found in the capture in order (the first
one at its N-th occurrence with "#N", default the first), followed by the
lines it printed there. Where the old block elided a command's output with
"...", the new one keeps as many lines before and after the "..." as the old
one did. A marked block without prompts that starts with a rustc "error"
line is rebuilt from that line to the end of the error (a blank line).
A marked block quoting a lessons-*.txt capture, otherwise, is an excerpt
of a lesson's report, log lines picked by hand: each of its lines that is
no longer in the capture is replaced by the next line of the capture that
differs from it only in numbers (time stamps, addresses, pids, offsets).
Other blocks are left alone. Run it after
Documentation/chapter/capture.sh.
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CHAPTER = os.path.join(ROOT, "Documentation", "chapter")
PROMPT = "(vm) / # "
MARK = re.compile(r"^\s*<!-- quote: (\S+)(?: #(\d+))? -->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


def blocks(lines):
    """Yields (marker match or None, indent, first body index, end index) per
    console block, and per text block that has a marker (a text block without
    one is a picture or a layout, not an output)."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        marked = i > 0 and MARK.match(lines[i - 1])
        if m and (m.group(2) == "console" or (m.group(2) == "text" and marked)):
            indent = m.group(1)
            j = i + 1
            while j < len(lines) and not FENCE.match(lines[j]):
                j += 1
            mark = MARK.match(lines[i - 1]) if i > 0 else None
            yield mark, indent, i + 1, j
            i = j + 1
        elif m:  # another fenced block: skip it whole
            j = i + 1
            while j < len(lines) and not FENCE.match(lines[j]):
                j += 1
            i = j + 1
        else:
            i += 1


def body(lines, indent, start, end):
    out = []
    for line in lines[start:end]:
        out.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    return [line.rstrip("\n").rstrip() for line in out]


def read(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").rstrip() for line in f]


def chapter_files():
    return sorted(glob.glob(os.path.join(CHAPTER, "*.md")))


def quoting_files():
    """The files whose marked blocks are checked: the chapter and the README.
    A marker names its capture relative to the file's own directory."""
    return chapter_files() + [os.path.join(ROOT, "README.md")]


def capture_path(md, name):
    return os.path.join(os.path.dirname(md), name)


def check():
    failed = False
    bad, unsourced, nblocks = [], [], 0
    for md in quoting_files():
        lines = open(md, encoding="utf-8").read().split("\n")
        for mark, indent, start, end in blocks(lines):
            rel = f"{os.path.relpath(md, ROOT)}:{start}"
            if not mark:
                unsourced.append(rel)
                continue
            nblocks += 1
            cap = capture_path(md, mark.group(1))
            if not os.path.exists(cap):
                bad.append(f"{rel}: no capture {mark.group(1)}")
                continue
            have = set(read(cap))
            for k, line in enumerate(body(lines, indent, start, end)):
                if line.strip() == "..." or line == "":
                    continue
                if line not in have:
                    bad.append(f"{os.path.relpath(md, ROOT)}:{start + k + 1}: not in {mark.group(1)}: {line[:100]}")
    if bad:
        failed = True
        print(f"FAIL chapter-quotes: {len(bad)} quoted line(s) not in the captures "
              "(run Documentation/chapter/capture.sh, then tests/chapter/quotes.py update):")
        for b in bad:
            print(f"  {b}")
    else:
        print(f"ok chapter-quotes ({nblocks} blocks, every line from a committed capture)")
    if unsourced:
        failed = True
        print(f"FAIL chapter-quotes-sourced: {len(unsourced)} console block(s) name no capture "
              "(an output the docs quote comes from a committed capture: add its <!-- quote: FILE --> line):")
        for u in unsourced:
            print(f"  {u}")
    else:
        print("ok chapter-quotes-sourced (every console block names its capture)")

    # The files a quoted rustc error may point into: the module's own code
    # and the lessons' (the compile-time lessons' mistakes are in lessons.rs).
    sources = {name: read(os.path.join(ROOT, name)) for name in ("simrupt.rs", "lessons.rs")}
    bad, nlocs = [], 0
    texts = chapter_files() + sorted(glob.glob(os.path.join(ROOT, "lessons", "*.txt")))
    for path in texts:
        lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
        for i, line in enumerate(lines):
            m = re.match(r"^\s*--> (\S+?):(\d+):\d+\s*$", line)
            if not m:
                continue
            nlocs += 1
            where = f"{os.path.relpath(path, ROOT)}:{i + 1}"
            name = os.path.basename(m.group(1))
            if name not in sources:
                bad.append(f"{where}: points into {m.group(1)}, which this check does not read")
                continue
            src = sources[name]
            n, seen = int(m.group(2)), False
            # The numbered source lines of this excerpt, up to its end.
            for follow in lines[i + 1:]:
                s = re.match(r"^\s*(\d+) \| ?(.*)$", follow)
                if s:
                    k, code = int(s.group(1)), s.group(2).rstrip()
                    seen |= k == n
                    if k > len(src) or src[k - 1].rstrip() != code:
                        now = src[k - 1].strip() if k <= len(src) else "(past the end)"
                        bad.append(f"{where}: {name}:{k} is now '{now[:80]}', not '{code.strip()[:80]}'")
                elif not re.match(r"^\s*(\||= |\.\.\.|$)", follow):
                    break
            if not seen:
                bad.append(f"{where}: the excerpt does not show line {n}")
    if bad:
        failed = True
        print(f"FAIL chapter-rustc-lines: {len(bad)} quoted compiler error(s) point at other code now "
              "(Documentation/chapter/capture.sh --lessons, then tests/chapter/quotes.py update):")
        for b in bad:
            print(f"  {b}")
    else:
        print(f"ok chapter-rustc-lines ({nlocs} quoted error locations point at the code they name)")
    return 1 if failed else 0


def outputs(cap, cmd, start):
    """Index of the line `PROMPT + cmd` at or after start, and the lines it printed."""
    for i in range(start, len(cap)):
        if cap[i] == PROMPT + cmd:
            j = i + 1
            while j < len(cap) and not cap[j].startswith(PROMPT.rstrip()):
                j += 1
            return i, cap[i + 1:j]
    return None, None


STAMP = re.compile(r"^\[\s*\d+\.\d+\]")
NUMBER = re.compile(r"(?:0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*")


def shape(line):
    """A log line with its time stamp and every number (decimal or hex:
    addresses, pids, offsets, counts) blanked: what stays the same from run to run."""
    return NUMBER.sub("#", STAMP.sub("[]", line))


def excerpt(old, cap):
    """An excerpt (a block of log lines picked by hand, "..." between them)
    rebuilt from a new capture: each line replaced by the next line of the
    capture of the same shape, in order (or, failing that, anywhere). A line
    with no counterpart stays, and check reports it."""
    new, pos = [], 0
    for line in old:
        if line.strip() in ("...", ""):
            new.append(line)
            continue
        if line in cap[pos:]:
            # Still in the capture as it is.
            new.append(line)
            pos = cap.index(line, pos) + 1
            continue
        want = shape(line)
        found = next((i for i in range(pos, len(cap)) if shape(cap[i]) == want), None)
        if found is None:
            found = next((i for i in range(len(cap)) if shape(cap[i]) == want), None)
        if found is None:
            new.append(line)
        else:
            new.append(cap[found])
            pos = found + 1
    return new


def update():
    changed = 0
    for md in quoting_files():
        lines = open(md, encoding="utf-8").read().split("\n")
        edits = []
        for mark, indent, start, end in blocks(lines):
            if not mark:
                continue
            cap = read(capture_path(md, mark.group(1)))
            old = body(lines, indent, start, end)
            new = None
            if any(l.startswith(PROMPT) for l in old):
                # Per command: how many output lines the old block showed before and after "...".
                shape, cmd = [], None
                for l in old:
                    if l.startswith(PROMPT):
                        shape.append([l[len(PROMPT):], 0, 0, False])
                    elif shape:
                        s = shape[-1]
                        if l.strip() == "...":
                            s[3] = True
                        elif s[3]:
                            s[2] += 1
                        else:
                            s[1] += 1
                new, pos = [], 0
                nth = int(mark.group(2) or 1)
                for k, (cmd, before, after, elided) in enumerate(shape):
                    for _ in range(nth if k == 0 else 1):
                        i, out = outputs(cap, cmd, pos)
                        if i is None:
                            break
                        pos = i + 1
                    if i is None:
                        sys.exit(f"quotes.py: {os.path.relpath(md, ROOT)}:{start}: '{cmd}' is not in {mark.group(1)}")
                    new.append(PROMPT + cmd)
                    if elided and len(out) > before + after:
                        new += out[:before] + ["..."] + (out[len(out) - after:] if after else [])
                    elif before or elided:
                        new += out
                    # else: the block shows this command without its output (README's
                    # first commands); so does the new one.
            elif old and old[0].startswith("error"):
                if old[0] not in cap:
                    sys.exit(f"quotes.py: {os.path.relpath(md, ROOT)}:{start}: '{old[0]}' is not in {mark.group(1)}")
                i = cap.index(old[0])
                j = i
                while j < len(cap) and cap[j] != "":
                    j += 1
                new = cap[i:j]
            elif mark.group(1).startswith("lessons-"):
                new = excerpt(old, cap)
            if new is not None and new != old:
                edits.append((start, end, [(indent + l).rstrip() if l else "" for l in new]))
        for start, end, repl in reversed(edits):
            lines[start:end] = repl
            changed += 1
        if edits:
            with open(md, "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
            print(f"updated {len(edits)} block(s) in {os.path.relpath(md, ROOT)}")
    if not changed:
        print("quotes.py: every quoted block already matches its capture")
    return 0


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "check"
    sys.exit(check() if mode == "check" else update() if mode == "update" else f"usage: {sys.argv[0]} check|update")
