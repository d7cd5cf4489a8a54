#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw one tick of simrupt's pipeline, per CPU, from the kernel's own trace.

The input is an ftrace text trace (the `trace` file of tracefs) recorded by
tests/guest/trace.sh while /dev/simrupt was read, or a QEMU console log that
holds one between SIMRUPT-TRACE-BEGIN/END marker lines (gzip + base64). The
events are the kernel's standard tracepoints, not printk:

  top half     timer:hrtimer_expire_entry/exit (hrtimer, hard IRQ), or
               timer:timer_expire_entry/exit (timer_list, TIMER softirq),
               whose function is in the simrupt module
  bottom half  irq:tasklet_entry/exit inside irq:softirq_entry/exit (TASKLET),
               or, with bottom_half=bh_wq, workqueue:workqueue_execute_start/end
               of the work queued on system_bh_wq (also in the TASKLET softirq)
  work         workqueue:workqueue_execute_start/end of the work item queued
               (workqueue:workqueue_queue_work) on `simruptd`, on a kworker
  reader       sched:sched_waking of cat by the work item, then
               sched:sched_switch to cat and away from it

Writes, into --out-dir:
  trace.txt     the raw trace, ftrace text format (Perfetto opens it)
  trace.json    the stages of every recorded tick as Chrome JSON trace events,
                with flow arrows (Perfetto and chrome://tracing open it)
  one-tick.svg  the picture of one tick: one lane per CPU, one bar per stage

With --check NAME it also prints "ok NAME-..." / "FAIL NAME-...: why" lines
for tests/run-all.sh and exits 1 if any failed. Python 3 standard library only.
"""

import argparse
import base64
import gzip
import json
import math
import os
import re
import statistics
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# --- Reading the trace ---------------------------------------------------------

# "  cat-95  [001] d.h2.  12.345678: sched_switch: prev_comm=..." (the flags
# column and the "(tgid)" column are optional in ftrace's output).
LINE_RE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\[]{4,5})\s+)?(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s?(?P<args>.*)$"
)
KEY_RE = re.compile(r"(?:^|\s)(\w+)=")
WQ_EXEC_RE = re.compile(r"work struct (?P<work>\S+?):? function (?P<function>.+?)\s*$")


@dataclass
class Event:
    ts: float  # microseconds
    cpu: int
    task: str
    pid: int
    flags: str
    name: str
    args: dict
    index: int


def parse_args(event, text):
    """Splits "key=value key=value" (values may contain spaces) into a dict."""
    if event in ("workqueue_execute_start", "workqueue_execute_end"):
        m = WQ_EXEC_RE.search(text)
        return m.groupdict() if m else {}
    args = {}
    keys = list(KEY_RE.finditer(text))
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(text)
        value = text[m.end() : end].strip()
        if value.endswith("==>"):
            value = value[:-3].strip()
        args[m.group(1)] = value
    return args


def parse_trace(text):
    events = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        if not m:
            continue
        ev = m.group("event")
        events.append(
            Event(
                ts=float(m.group("ts")) * 1e6,
                cpu=int(m.group("cpu")),
                task=m.group("task").strip(),
                pid=int(m.group("pid")),
                flags=m.group("flags") or "",
                name=ev,
                args=parse_args(ev, m.group("args")),
                index=len(events),
            )
        )
    return events


def ncpus_of(text):
    m = re.search(r"#P:(\d+)", text)
    return int(m.group(1)) if m else None


@dataclass
class Recording:
    trace: str
    label: str = ""
    reader: int | None = None
    kernel: str = ""
    missing: list = field(default_factory=list)
    params: dict = field(default_factory=dict)  # the module's delay and trace


def read_input(path, label):
    """Returns the Recording in `path`: a raw trace, or the LABEL block of a console log."""
    with open(path, errors="replace") as f:
        text = f.read()
    if "SIMRUPT-TRACE-BEGIN" not in text:
        return Recording(trace=text, label=label or "")
    kernel = ""
    m = re.search(r"^SIMRUPT-GUEST-START (\S+)", text, re.M)
    if m:
        kernel = m.group(1)
    missing = re.findall(r"^SIMRUPT-TRACE-MISSING (\S+)", text, re.M)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^SIMRUPT-TRACE-BEGIN (\S+)(.*)$", line)
        if not m or (label and m.group(1) != label):
            continue
        reader = re.search(r"reader=(\d+)", m.group(2))
        chunks = []
        for body in lines[i + 1 :]:
            if body.startswith("SIMRUPT-TRACE-END"):
                break
            # A kernel message may land on the console mid-line: drop it
            # ("[    8.041849] ..." to the end of the line; '[' is not base64).
            body = re.sub(r"\[\s*\d+\.\d+\].*$", "", body).strip()
            if re.fullmatch(r"[A-Za-z0-9+/=]+", body):
                chunks.append(body)
        raw = gzip.decompress(base64.b64decode("".join(chunks)))
        return Recording(
            trace=raw.decode(errors="replace"),
            label=m.group(1),
            reader=int(reader.group(1)) if reader else None,
            kernel=kernel,
            missing=missing,
            params=dict(re.findall(r"(delay|trace)=(\S+)", m.group(2))),
        )
    raise SystemExit(f"timeline.py: no trace labelled {label!r} in {path}")


# --- Finding the stages of each tick -------------------------------------------

STAGES = ("top", "bottom", "work", "reader")
STAGE_NAMES = {
    "top": "top half",
    "bottom": "bottom half",
    "work": "work item",
    "reader": "reader",
}
COLOURS = {"top": "#d62728", "bottom": "#ff7f0e", "work": "#1f77b4", "reader": "#2ca02c"}


@dataclass
class Stage:
    stage: str
    cpu: int
    start: float
    end: float
    what: str  # e.g. "hrtimer callback"
    context: str  # e.g. "hard IRQ"
    task: str
    envelope: tuple | None = None  # (start, end) of the enclosing softirq, if any
    # (cpu, start, end) of each stretch on a CPU, for a task preempted in the
    # middle (and perhaps moved to another CPU); None: one stretch on `cpu`.
    segments: list | None = None

    @property
    def dur(self):
        return self.end - self.start

    @property
    def runs(self):
        return self.segments or [(self.cpu, self.start, self.end)]

    @property
    def on_cpu(self):
        return sum(b - a for _, a, b in self.runs)

    def cpu_at(self, t):
        """The CPU the stage was on at time t (or last before it)."""
        cpu = self.runs[0][0]
        for c, a, _ in self.runs:
            if a <= t:
                cpu = c
        return cpu


@dataclass
class Tick:
    stages: dict  # stage -> Stage
    arrows: list  # (from_stage, t_from, to_stage, t_to, label)

    @property
    def complete(self):
        return all(s in self.stages for s in STAGES)

    @property
    def cpus(self):
        return sorted({c for s in self.stages.values() for c, _, _ in s.runs})


def context_of(flags):
    """The execution context from ftrace's flags column (Documentation/trace/ftrace.rst)."""
    c = flags[2] if len(flags) >= 3 else "."
    return {
        "h": "hard IRQ",
        "H": "hard IRQ (inside a softirq)",
        "s": "softirq",
        "z": "NMI",
        "Z": "NMI (inside a hard IRQ)",
    }.get(c, "process")


def is_simrupt(function):
    return "simrupt" in (function or "")


class Trace:
    """The events of one recording, and the search for each tick's stages in them.

    Each stage is found from the one before it, as the byte travels: the
    bottom half after the top half on the same CPU, the work item from the
    `workqueue_queue_work` its bottom half made, the reader from the wakeup
    its work item made. A tick missing a link keeps the stages found so far.
    """

    def __init__(self, events, reader=None):
        self.events = events
        self.reader = reader
        self.by_cpu = {}
        for e in events:
            self.by_cpu.setdefault(e.cpu, []).append(e)

    def next_on(self, cpu, after, pred, before=None):
        """The first event on `cpu` at or after index `after` matching `pred`."""
        for e in self.by_cpu.get(cpu, []):
            if e.index < after:
                continue
            if before is not None and e.ts > before:
                return None
            if pred(e):
                return e
        return None

    def last_on(self, cpu, before, pred):
        found = None
        for e in self.by_cpu.get(cpu, []):
            if e.index >= before:
                break
            if pred(e):
                found = e
        return found

    def first(self, after, pred, before=None):
        for e in self.events[after:]:
            if before is not None and e.ts > before:
                return None
            if pred(e):
                return e
        return None

    def is_reader(self, pid, comm):
        return pid == self.reader if self.reader is not None else comm == "cat"

    # One stage at a time, each from the previous one.

    def top_halves(self):
        pairs = (
            ("hrtimer_expire_entry", "hrtimer_expire_exit", "hrtimer", "hrtimer callback"),
            ("timer_expire_entry", "timer_expire_exit", "timer", "timer_list callback"),
        )
        for e in self.events:
            for entry, exit_, key, what in pairs:
                if e.name == entry and is_simrupt(e.args.get("function")):
                    x = self.next_on(
                        e.cpu, e.index + 1, lambda x: x.name == exit_ and x.args.get(key) == e.args.get(key)
                    )
                    if x:
                        yield Stage("top", e.cpu, e.ts, x.ts, what, context_of(e.flags), e.task), e, x

    def bottom_half(self, top, entry, exit_, limit):
        def softirq(x, name):  # the TASKLET softirq is vector 6
            return x.name == name and x.args.get("vec", "").startswith("6")

        # A tasklet, run by the TASKLET softirq on the CPU that scheduled it.
        t = self.next_on(
            top.cpu, exit_.index, lambda x: x.name == "tasklet_entry" and is_simrupt(x.args.get("function")), limit
        )
        if t:
            tx = self.next_on(
                top.cpu, t.index, lambda x: x.name == "tasklet_exit" and x.args.get("tasklet") == t.args.get("tasklet")
            )
            if tx:
                s = Stage("bottom", t.cpu, t.ts, tx.ts, "tasklet", context_of(t.flags), t.task)
                se = self.last_on(t.cpu, t.index, lambda x: softirq(x, "softirq_entry"))
                sx = self.next_on(t.cpu, tx.index, lambda x: softirq(x, "softirq_exit"))
                if se and sx:
                    s.envelope = (se.ts, sx.ts)
                return s, None
        # Or work on system_bh_wq, queued by the top half.
        q = self.next_on(
            top.cpu,
            entry.index,
            lambda x: x.name == "workqueue_queue_work"
            and is_simrupt(x.args.get("function"))
            and x.args.get("workqueue") != "simruptd",
            exit_.ts,
        )
        if q:
            w = q.args.get("struct")
            st = self.first(q.index, lambda x: x.name == "workqueue_execute_start" and x.args.get("work") == w, limit)
            if st:
                en = self.next_on(st.cpu, st.index, lambda x: x.name == "workqueue_execute_end" and x.args.get("work") == w)
                if en:
                    s = Stage("bottom", st.cpu, st.ts, en.ts, "BH work (system_bh_wq)", context_of(st.flags), st.task)
                    se = self.last_on(st.cpu, st.index, lambda x: softirq(x, "softirq_entry"))
                    sx = self.next_on(st.cpu, en.index, lambda x: softirq(x, "softirq_exit"))
                    if se and sx:
                        s.envelope = (se.ts, sx.ts)
                    return s, q
        return None, None

    def work(self, bottom):
        q = self.first(
            0,
            lambda x: x.name == "workqueue_queue_work"
            and x.args.get("workqueue") == "simruptd"
            and x.cpu == bottom.cpu
            and bottom.start <= x.ts <= bottom.end,
        )
        if not q:
            return None, None
        w = q.args.get("struct")
        st = self.first(q.index, lambda x: x.name == "workqueue_execute_start" and x.args.get("work") == w)
        if not st:
            return None, q
        # On any CPU: a kworker is a task like any other, and may be
        # preempted and resumed elsewhere before the work item returns.
        en = self.first(st.index, lambda x: x.name == "workqueue_execute_end" and x.args.get("work") == w)
        if not en:
            return None, q
        stage = Stage("work", st.cpu, st.ts, en.ts, "simrupt_work_func", context_of(st.flags), st.task)
        stage.segments = self.stretches(st, en)
        return stage, q

    def stretches(self, first, last):
        """(cpu, start, end) of each stretch task `first.pid` ran between two of its events."""
        out, cpu, since = [], first.cpu, first.ts
        for e in self.events[first.index : last.index]:
            if e.name != "sched_switch":
                continue
            if cpu is not None and e.args.get("prev_pid") == str(first.pid):
                out.append((cpu, since, e.ts))
                cpu = None
            elif cpu is None and e.args.get("next_pid") == str(first.pid):
                cpu, since = e.cpu, e.ts
        out.append((last.cpu, since if cpu is not None else last.ts, last.ts))
        return out

    def reader_run(self, work):
        wk = self.first(
            0,
            lambda x: x.name in ("sched_waking", "sched_wakeup")
            and self.is_reader(int(x.args.get("pid", -1)), x.args.get("comm"))
            and work.start <= x.ts <= work.end,
        )
        if not wk:
            return None, None
        pid = int(wk.args["pid"])
        # Where it runs is where the scheduler switches to it: target_cpu is
        # only where the wakeup queued it, and a balancer may move it on.
        sw = self.first(wk.index, lambda x: x.name == "sched_switch" and x.args.get("next_pid") == str(pid))
        if not sw:
            return None, wk
        target = sw.cpu
        out = self.next_on(target, sw.index + 1, lambda x: x.name == "sched_switch" and x.args.get("prev_pid") == str(pid))
        if not out:
            return None, wk
        comm = sw.args.get("next_comm", "cat")
        return Stage("reader", target, sw.ts, out.ts, f"{comm} (read)", "process", f"{comm}-{pid}"), wk

    def ticks(self):
        tops = list(self.top_halves())
        result = []
        for i, (top, entry, exit_) in enumerate(tops):
            limit = tops[i + 1][0].start if i + 1 < len(tops) else None
            tick = Tick(stages={"top": top}, arrows=[])
            bottom, bhq = self.bottom_half(top, entry, exit_, limit)
            if bottom:
                tick.stages["bottom"] = bottom
                if bhq:
                    tick.arrows.append(("top", bhq.ts, "bottom", bottom.start, "queue_work(system_bh_wq)"))
                else:
                    tick.arrows.append(("top", top.end, "bottom", bottom.start, "tasklet_schedule()"))
                work, q = self.work(bottom)
                if work:
                    tick.stages["work"] = work
                    tick.arrows.append(("bottom", q.ts, "work", work.start, "queue_work(simruptd)"))
                    reader, wk = self.reader_run(work)
                    if reader:
                        tick.stages["reader"] = reader
                        tick.arrows.append(("work", wk.ts, "reader", reader.start, "wake_up(): cat runs"))
            result.append(tick)
        return result


def pick_tick(ticks):
    """A typical complete tick: each stage's duration, and the time from the
    timer to cat running, closest (by ratio) to their medians over all complete
    ticks; ticks with no stage preempted, then ticks on two CPUs, first."""
    complete = [t for t in ticks if t.complete]
    if not complete:
        return None

    def latency(t):
        return t.stages["reader"].start - t.stages["top"].start

    med = {s: statistics.median(max(t.stages[s].dur, 1) for t in complete) for s in STAGES}
    med_lat = statistics.median(max(latency(t), 1) for t in complete)

    def distance(t):
        d = sum(abs(math.log(max(t.stages[s].dur, 1) / med[s])) for s in STAGES)
        return d + abs(math.log(max(latency(t), 1) / med_lat))

    # Clearest first: no stage preempted, and stages on two CPUs.
    plain = [t for t in complete if all(len(st.runs) == 1 for st in t.stages.values())] or complete
    multi = [t for t in plain if len(t.cpus) >= 2] or plain
    return min(multi, key=distance)


# --- Outputs ---------------------------------------------------------------------


def fmt_us(us):
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    if us >= 10:
        return f"{us:.0f} µs"
    return f"{us:.1f} µs"


def write_json(path, ticks, title):
    """Chrome JSON trace events: one "thread" per CPU, a slice per stage, flows between them."""
    evs = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": title}}]
    cpus = sorted({c for t in ticks for c in t.cpus})
    for c in cpus:
        evs.append({"ph": "M", "pid": 1, "tid": c, "name": "thread_name", "args": {"name": f"CPU {c}"}})
        evs.append({"ph": "M", "pid": 1, "tid": c, "name": "thread_sort_index", "args": {"sort_index": c}})
    flow = 0
    for n, t in enumerate(ticks):
        for s in t.stages.values():
            for c, a, b in s.runs:
                evs.append(
                    {
                        "ph": "X",
                        "pid": 1,
                        "tid": c,
                        "ts": round(a, 3),
                        "dur": round(b - a, 3),
                        "name": f"{STAGE_NAMES[s.stage]}: {s.what}",
                        "cat": s.context,
                        "args": {"tick": n, "context": s.context, "task": s.task},
                    }
                )
        for a, ta, b, tb, label in t.arrows:
            flow += 1
            sa, sb = t.stages[a], t.stages[b]
            evs.append({"ph": "s", "id": flow, "pid": 1, "tid": sa.cpu_at(ta), "ts": round(min(ta, sa.end), 3), "name": label, "cat": "flow"})
            evs.append({"ph": "f", "bp": "e", "id": flow, "pid": 1, "tid": sb.cpu, "ts": round(tb, 3), "name": label, "cat": "flow"})
    with open(path, "w") as f:
        json.dump({"traceEvents": evs, "displayTimeUnit": "ns"}, f, indent=0)


def write_excerpt(path, text, events, ticks, n):
    """The trace's header and its events for the fewest ticks around tick `n` holding three complete ones."""
    lo, hi = n, n
    for width in range(3, len(ticks) + 1):
        runs = [(a, a + width - 1) for a in range(max(0, n - width + 1), min(n, len(ticks) - width) + 1)]
        runs = [r for r in runs if sum(t.complete for t in ticks[r[0] : r[1] + 1]) >= 3]
        if runs:
            lo, hi = runs[0]
            break
    start = ticks[lo].stages["top"].start - 1000
    end = max(s.end for s in ticks[hi].stages.values()) + 1000
    keep = {e.index for e in events if start <= e.ts <= end}
    out, i = [], 0
    for line in text.splitlines():
        if line.startswith("#"):
            out.append(line)
        elif LINE_RE.match(line):
            if i in keep:
                out.append(line)
            i += 1
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def nice_step(span):
    raw = span / 8
    k = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if m * k >= raw:
            return m * k
    return 10 * k


# A white outline behind label text, so that a line crossing it does not hide it.
HALO = 'stroke="white" stroke-width="3" paint-order="stroke"'


def text_width(s, size=12, bold=False):
    """About how wide DejaVu Sans draws s (no font metrics in the standard library)."""
    return len(s) * size * (0.66 if bold else 0.6)


def running(events, cpu, t0, t1):
    """(start, end, comm) of each task that ran on `cpu` between t0 and t1, from sched_switch."""
    out, cur, since = [], None, t0
    for e in events:
        if e.cpu != cpu or e.name != "sched_switch":
            continue
        if e.ts < t0:
            cur = e.args.get("next_comm")
            continue
        if e.ts > t1:
            break
        out.append((since, e.ts, cur or e.args.get("prev_comm")))
        cur, since = e.args.get("next_comm"), e.ts
    out.append((since, t1, cur))
    return [(a, b, c) for a, b, c in out if c and b > a]


def write_svg(path, tick, ticks, ncpus, title, subtitle, events):
    W, left, right = 1100, 100, 30
    plot_w = W - left - right
    t_first = tick.stages["top"].start
    t_last = max(s.end for s in tick.stages.values())
    span = max(t_last - t_first, 1.0)
    t0, t1 = t_first - 0.06 * span, t_last + 0.04 * span

    def X(t):
        return left + (t - t0) / (t1 - t0) * plot_w

    cpus = list(range(ncpus)) if ncpus else tick.cpus
    for c in tick.cpus:
        if c not in cpus:
            cpus.append(c)

    # Labels of each lane's bars go in rows above the bar, placed greedily.
    bar_h, row_h = 26, 32
    labels = {}
    rows_needed = {c: 1 for c in cpus}
    for c in cpus:
        rows = []
        # Right to left: a label starts at its bar, so the leader line of a
        # bar further left, rising to a higher row, crosses no label.
        for s in sorted((s for s in tick.stages.values() if s.cpu == c), key=lambda s: -s.start):
            l1 = f"{STAGE_NAMES[s.stage]}: {s.what}"
            l2 = f"{s.context} · {fmt_us(s.dur)}" + ("" if s.stage in ("top", "bottom") else f" · {s.task}")
            if len(s.runs) > 1:
                l2 += f" · preempted, {fmt_us(s.on_cpu)} on CPU" + (
                    f", resumed on CPU {s.runs[-1][0]}" if s.runs[-1][0] != s.cpu else ""
                )
            w = max(text_width(l1, 12.5, bold=True), text_width(l2, 12))
            x = X(s.start)
            anchor = "start"
            if x + w > W - right:
                x, anchor = max(X(s.end), left + w), "end"
            lo, hi = (x, x + w) if anchor == "start" else (x - w, x)
            r = 0
            while r < len(rows) and any(not (hi + 8 < a or lo > b + 8) for a, b in rows[r]):
                r += 1
            if r == len(rows):
                rows.append([])
            rows[r].append((lo, hi))
            labels[s.stage] = (r, x, anchor, l1, l2)
        rows_needed[c] = max(1, len(rows))

    top_margin = 100
    lane_y, y = {}, top_margin
    for c in cpus:
        lane_top = y
        bar_y = lane_top + 14 + rows_needed[c] * row_h
        lane_y[c] = (lane_top, bar_y)
        y = bar_y + bar_h + 64
    axis_y = y
    legend_y = axis_y + 46
    H = legend_y + 4 * 22 + 72

    o = []
    o.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">'
    )
    o.append(f"<title>{esc(title)}</title>")
    o.append(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>'
    )
    o.append(f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>')
    o.append(f'<text x="{left}" y="30" font-size="18" font-weight="bold">{esc(title)}</text>')
    for i, line in enumerate(subtitle.split("\n")):
        o.append(f'<text x="{left}" y="{52 + 17 * i}" font-size="12.5" fill="#444">{esc(line)}</text>')

    # Grid and time axis, relative to the start of the top half.
    step = nice_step(span)
    k = int((t0 - t_first) // step)
    while t_first + k * step <= t1:
        t = t_first + k * step
        if t >= t0:
            x = X(t)
            o.append(f'<line x1="{x:.1f}" y1="{top_margin - 8}" x2="{x:.1f}" y2="{axis_y}" stroke="#e4e4e4"/>')
            o.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{"+" if k > 0 else ""}{fmt_us(k * step) if k else "0"}</text>')
        k += 1
    o.append(f'<line x1="{left}" y1="{axis_y}" x2="{W - right}" y2="{axis_y}" stroke="#555"/>')
    o.append(f'<text x="{W - right}" y="{axis_y + 34}" text-anchor="end" fill="#555">time since the timer fired (trace clock: global)</text>')

    for c in cpus:
        lane_top, bar_y = lane_y[c]
        o.append(f'<g class="lane" data-cpu="{c}">')
        o.append(f'<rect x="0" y="{lane_top - 6}" width="{W}" height="{bar_y + bar_h + 58 - lane_top}" fill="{"#fafafa" if c % 2 == 0 else "#f3f3f3"}"/>')
        o.append(f'<text x="14" y="{bar_y + 18}" font-size="15" font-weight="bold">CPU {c}</text>')
        o.append(f'<line x1="{left}" y1="{bar_y + bar_h / 2}" x2="{W - right}" y2="{bar_y + bar_h / 2}" stroke="#ccc" stroke-dasharray="3,4"/>')
        for s in sorted((s for s in tick.stages.values() if s.cpu == c), key=lambda s: s.start):
            if s.envelope:
                ex0, ex1 = X(s.envelope[0]), X(s.envelope[1])
                o.append(
                    f'<rect x="{ex0:.1f}" y="{bar_y - 4}" width="{max(ex1 - ex0, 3):.1f}" height="{bar_h + 8}" '
                    f'fill="none" stroke="{COLOURS[s.stage]}" stroke-dasharray="3,2">'
                    f"<title>TASKLET softirq: {fmt_us(s.envelope[1] - s.envelope[0])}</title></rect>"
                )
            x0 = X(s.start)
            o.append(
                f'<rect class="stage" data-stage="{s.stage}" data-cpu="{c}" data-context="{esc(s.context)}" '
                f'data-dur-us="{s.dur:.1f}" x="{x0:.1f}" y="{bar_y}" width="{max(X(s.runs[0][2]) - x0, 3):.1f}" height="{bar_h}" '
                f'rx="3" fill="{COLOURS[s.stage]}"><title>{esc(STAGE_NAMES[s.stage])}: {esc(s.what)}, '
                f"{esc(s.context)}, {fmt_us(s.dur)}, CPU {c}, {esc(s.task)}</title></rect>"
            )
            r, lx, anchor, l1, l2 = labels[s.stage]
            ly = bar_y - 10 - r * row_h
            o.append(f'<line x1="{x0 + 1:.1f}" y1="{bar_y}" x2="{x0 + 1:.1f}" y2="{ly + 3}" stroke="{COLOURS[s.stage]}"/>')
            o.append(
                f'<text x="{lx:.1f}" y="{ly - 14}" text-anchor="{anchor}" font-size="12.5" font-weight="bold" '
                f'fill="{COLOURS[s.stage]}" {HALO}>{esc(l1)}</text>'
            )
            o.append(f'<text x="{lx:.1f}" y="{ly}" text-anchor="{anchor}" fill="#222" {HALO}>{esc(l2)}</text>')
        # Underneath, thin: which task the CPU was running (sched_switch).
        sy = bar_y + bar_h + 34
        o.append(f'<text x="14" y="{sy + 8}" font-size="10" fill="#777">task running</text>')
        for a, b, comm in running(events, c, t0, t1):
            xa, xb = X(a), X(b)
            idle = comm.startswith("swapper")
            o.append(
                f'<rect class="task" x="{xa:.1f}" y="{sy}" width="{max(xb - xa, 1):.1f}" height="10" '
                f'fill="{"#e6e6e6" if idle else "#b8b8b8"}" stroke="white" stroke-width="0.5"><title>{esc(comm)}</title></rect>'
            )
            name = "idle" if idle else comm
            if xb - xa > text_width(name, 9) + 6:
                o.append(f'<text x="{xa + 3:.1f}" y="{sy + 8.5}" font-size="9" fill="#333">{esc(name)}</text>')
        o.append("</g>")

    # A preempted task's later stretches, joined by a dotted line to the last.
    for s in tick.stages.values():
        for (c0, _, b0), (c1, a1, b1) in zip(s.runs, s.runs[1:]):
            y0, y1 = lane_y[c0][1] + bar_h / 2, lane_y[c1][1] + bar_h / 2
            o.append(
                f'<path d="M{X(b0):.1f},{y0} L{X(a1):.1f},{y1}" stroke="{COLOURS[s.stage]}" stroke-width="1.5" '
                f'stroke-dasharray="2,3" fill="none"><title>preempted: not running</title></path>'
            )
            o.append(
                f'<rect class="stage" data-stage="{s.stage}" data-cpu="{c1}" data-context="{esc(s.context)}" '
                f'x="{X(a1):.1f}" y="{lane_y[c1][1]}" width="{max(X(b1) - X(a1), 3):.1f}" height="{bar_h}" rx="3" '
                f'fill="{COLOURS[s.stage]}"><title>{esc(STAGE_NAMES[s.stage])}, resumed on CPU {c1}</title></rect>'
            )

    # Arrows for this byte, numbered; the legend says what each is.
    for n, (a, ta, b, tb, label) in enumerate(tick.arrows, 1):
        sa, sb = tick.stages[a], tick.stages[b]
        ca = sa.cpu_at(ta)
        ya, yb = lane_y[ca][1], lane_y[sb.cpu][1]
        xa, xb = X(min(ta, sa.end)), X(tb)
        if ca == sb.cpu:
            y0 = ya + bar_h
            dip = 26
            d = f"M{xa:.1f},{y0} C{xa:.1f},{y0 + dip} {xb:.1f},{y0 + dip} {xb:.1f},{y0 + 2}"
            mx, my = (xa + xb) / 2, y0 + dip * 0.75
        else:
            # Down (or up) from the source bar, then into the target bar's
            # left end from the left, clear of the target's labels above it.
            y0 = ya + bar_h if yb > ya else ya
            y1 = yb + bar_h / 2
            xe = xb - 2
            d = f"M{xa:.1f},{y0} C{xa:.1f},{y1} {xa:.1f},{y1} {(xa + xe) / 2:.1f},{y1} L{xe:.1f},{y1}"
            mx, my = (xa + xe) / 2, y1
        o.append(f'<path class="arrow" data-from="{a}" data-to="{b}" d="{d}" fill="none" stroke="#333" stroke-width="1.6" marker-end="url(#arrow)"><title>{esc(label)}</title></path>')
        o.append(f'<circle cx="{mx:.1f}" cy="{my:.1f}" r="9" fill="white" stroke="#333"/>')
        o.append(f'<text x="{mx:.1f}" y="{my + 4:.1f}" text-anchor="middle" font-size="11" font-weight="bold">{n}</text>')

    # Legend: the four contexts, then the arrows, then all ticks in numbers.
    y = legend_y
    legend = {
        "top": "top half: the timer's callback. hrtimer: hard IRQ, interrupts off; timer_list: TIMER softirq. Must be quick.",
        "bottom": "bottom half: tasklet (or BH work) in the TASKLET softirq (dashed box), same CPU; may not sleep.",
        "work": "work item: simrupt_work_func on a kworker of the unbound queue simruptd; process context, may sleep.",
        "reader": "reader: cat, woken by the work item, returns from read(); process context.",
    }
    for s in STAGES:
        o.append(f'<rect x="{left}" y="{y - 11}" width="22" height="13" rx="2" fill="{COLOURS[s]}"/>')
        o.append(f'<text x="{left + 30}" y="{y}">{esc(legend[s])}</text>')
        y += 22
    y += 6
    arrows = "   ".join(f"({n}) {label}" for n, (_, _, _, _, label) in enumerate(tick.arrows, 1))
    o.append(f'<text x="{left}" y="{y}" fill="#222">Arrows, one byte: {esc(arrows)}</text>')
    y += 22
    for line in summary_lines(ticks):
        o.append(f'<text x="{left}" y="{y}" fill="#555">{esc(line)}</text>')
        y += 18
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def summary_lines(ticks):
    complete = [t for t in ticks if t.complete]
    if not complete:
        return ["no complete tick"]
    parts = []
    for s in STAGES:
        durs = [t.stages[s].dur for t in complete]
        cpus = sorted({t.stages[s].cpu for t in complete})
        parts.append(f"{STAGE_NAMES[s]} {fmt_us(statistics.median(durs))} (CPU {','.join(map(str, cpus))})")
    lat = [t.stages["reader"].start - t.stages["top"].start for t in complete]
    return [
        f"All {len(complete)} complete ticks of {len(ticks)} recorded, median duration: " + "; ".join(parts) + ".",
        f"Timer fired to cat running: median {fmt_us(statistics.median(lat))}. "
        "A debug kernel in QEMU (software emulation unless SIMRUPT_KVM=1): times are many times a real machine's.",
    ]


# --- Checks for make check ------------------------------------------------------------


def check(name, rec, ticks, svg_path, min_ticks):
    results = []

    def res(ok, check_name, why):
        results.append(ok)
        print(f"ok {name}-{check_name} ({why})" if ok else f"FAIL {name}-{check_name}: {why}")

    if rec.missing:
        res(False, "events", "the kernel lacks " + ", ".join(rec.missing))
    complete = [t for t in ticks if t.complete]
    counts = {s: sum(1 for t in ticks if s in t.stages) for s in STAGES}
    res(
        len(complete) >= min_ticks,
        "stages",
        f"{len(complete)} of {len(ticks)} ticks hold all four stages; per stage: "
        + ", ".join(f"{s} {counts[s]}" for s in STAGES)
        + f"; need {min_ticks}",
    )
    # An hrtimer set up with HRTIMER_MODE_REL_HARD runs in hard IRQ; a
    # timer_list in the TIMER softirq; both bottom halves in the TASKLET softirq.
    def want(stage):
        if stage.stage == "top":
            return "hard IRQ" if stage.what.startswith("hrtimer") else "softirq"
        return "softirq" if stage.stage == "bottom" else "process"

    def desc(st):
        return f"{st.stage} ({st.what}) in {st.context}"

    # A hard IRQ that arrived while a softirq ran on that CPU ("H") is still
    # a hard IRQ: the hrtimer callback nests inside whatever it interrupted.
    def base(context):
        return context.split(" (inside ")[0]

    seen = sorted({desc(st) for t in complete for st in t.stages.values()})
    bad = sorted({desc(st) + f", not {want(st)}" for t in complete for st in t.stages.values() if base(st.context) != want(st)})
    res(not bad and bool(complete), "contexts", "; ".join(bad or seen) or "no complete tick to check")
    try:
        root = ET.parse(svg_path).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        rects = [r for r in root.iter(ns + "rect") if r.get("class") == "stage"]
        stages = {r.get("data-stage") for r in rects}
        cpus = {r.get("data-cpu") for r in rects}
        lanes = {g.get("data-cpu") for g in root.iter(ns + "g") if g.get("class") == "lane"}
        arrows = [p for p in root.iter(ns + "path") if p.get("class") == "arrow"]
        ok = root.tag == ns + "svg" and stages == set(STAGES) and len(cpus) >= 2 and len(arrows) == 3
        res(
            ok,
            "svg",
            f"well-formed; stages {sorted(stages)} on CPUs {sorted(cpus)} of lanes {sorted(lanes)}; {len(arrows)} arrows"
            + ("" if ok else "; need all four stages on at least two CPUs and three arrows"),
        )
    except (ET.ParseError, OSError) as e:
        res(False, "svg", f"{svg_path}: {e}")
    return all(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="ftrace text trace, or a console log with SIMRUPT-TRACE-BEGIN/END blocks")
    ap.add_argument("--label", default="", help="which block of a console log (default: the first)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--svg", help="also copy the SVG here")
    ap.add_argument("--excerpt", help="also write here the raw trace of the pictured tick and its neighbours")
    ap.add_argument("--reader", type=int, help="the reader's pid (default: from the log, else any cat)")
    ap.add_argument("--check", metavar="NAME", help="print ok/FAIL NAME-... lines; exit 1 on failure")
    ap.add_argument("--min-ticks", type=int, default=3)
    ap.add_argument("--tick", type=int, help="draw this tick (1 = the first recorded) instead of a typical one")
    a = ap.parse_args()

    rec = read_input(a.input, a.label)
    if a.reader is not None:
        rec.reader = a.reader
    os.makedirs(a.out_dir, exist_ok=True)
    paths = {k: os.path.join(a.out_dir, f) for k, f in (("txt", "trace.txt"), ("json", "trace.json"), ("svg", "one-tick.svg"))}
    with open(paths["txt"], "w") as f:
        f.write(rec.trace)

    events = parse_trace(rec.trace)
    ticks = Trace(events, rec.reader).ticks()
    mode = rec.label.replace("-", " + ", 1) if rec.label else ""
    kernel = f"Linux {rec.kernel}" if rec.kernel else "Linux"
    title = f"One tick of simrupt, per CPU ({mode})" if mode else "One tick of simrupt, per CPU"
    write_json(paths["json"], ticks, f"simrupt: {kernel} {mode}".strip())
    tick = pick_tick(ticks)
    if a.tick is not None:
        if not 1 <= a.tick <= len(ticks) or not ticks[a.tick - 1].complete:
            raise SystemExit(f"timeline.py: tick {a.tick} is not one of the complete ticks")
        tick = ticks[a.tick - 1]
    if tick:
        n = ticks.index(tick)
        params = ""
        if rec.params:
            params = f", delay={rec.params.get('delay', '?')} ms, trace={rec.params.get('trace', '?')}"
            if rec.params.get("trace") == "Y":
                params += " (each stage also printk()s)"
        subtitle = (
            f"{kernel} in QEMU, {ncpus_of(rec.trace) or len(tick.cpus)} CPUs{params}.\nTick {n + 1} of {len(ticks)} recorded "
            "with the kernel's trace events (timer, irq, workqueue, sched)"
            + ("." if a.tick else "; a typical one (nearest the medians, not preempted).")
        )
        write_svg(paths["svg"], tick, ticks, ncpus_of(rec.trace), title, subtitle, events)
        if a.svg:
            with open(paths["svg"]) as src, open(a.svg, "w") as dst:
                dst.write(src.read())
        if a.excerpt:
            write_excerpt(a.excerpt, rec.trace, events, ticks, n)
    else:
        with open(paths["svg"], "w") as f:
            f.write('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="40"><text x="10" y="25">no complete tick in the trace</text></svg>\n')

    if a.check:
        sys.exit(0 if check(a.check, rec, ticks, paths["svg"], a.min_ticks) else 1)
    complete = sum(1 for t in ticks if t.complete)
    print(f"{len(events)} events, {len(ticks)} ticks, {complete} with all four stages")
    for line in summary_lines(ticks):
        print(line)
    for k, p in paths.items():
        print(f"{k}: {p}")


if __name__ == "__main__":
    main()
