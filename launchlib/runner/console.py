"""What a person reads while a rehearsal runs: header, phase lines, live status, the decision.

On a terminal the live status (launch clock, requests, API p95, failure ratio, pending triggers)
updates in place on one line; elsewhere (CI, a pipe) a plain line is printed every few launch
minutes instead. Every other line goes through :meth:`Console.line`, which clears the live line
first, so threads (the runner's supervisor and the main thread) never garble each other.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from launchlib.launch.monitor import LiveStatus
from launchlib.plan.model import Plan
from launchlib.report.scorecard import clock
from launchlib.runfolder.records import DecisionRecord, Firing

__all__ = ["Console", "explain_decision", "explain_firing"]

PLAIN_EVERY_LAUNCH_S = 300.0  # without a terminal: a status line every five launch minutes


class Console:
    """Lines for a person; a live status line when ``stream`` is a terminal."""

    def __init__(self, echo: Callable[[str], Any] | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.echo = echo
        self.tty = echo is None and self.stream.isatty()
        self._lock = threading.Lock()
        self._live = False
        self._last_plain: float | None = None

    def line(self, text: str) -> None:
        with self._lock:
            if self.echo is not None:
                self.echo(text)
                return
            if self._live:
                self.stream.write("\r\x1b[2K")
                self._live = False
            self.stream.write(text + "\n")
            self.stream.flush()

    def status(self, live: LiveStatus) -> None:
        """Show the monitor's live status: in place on a terminal, now and then otherwise."""
        if live.launch_s is None:
            return
        text = _status_text(live)
        if not self.tty:
            if self._last_plain is None or live.launch_s - self._last_plain >= PLAIN_EVERY_LAUNCH_S:
                self._last_plain = live.launch_s
                self.line("         " + text)
            return
        width = shutil.get_terminal_size((100, 20)).columns
        with self._lock:
            self.stream.write("\r\x1b[2K  " + text[: max(10, width - 3)])
            self.stream.flush()
            self._live = True

    def end_live(self) -> None:
        with self._lock:
            if self._live:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._live = False


def _status_text(live: LiveStatus) -> str:
    p95 = "-" if live.api_p95_ms is None else f"{live.api_p95_ms:.0f} ms"
    fail = "-" if live.failure_ratio is None else f"{live.failure_ratio:.1%}"
    pending = ", ".join(live.pending) or "none"
    fired = f"  fired: {', '.join(live.fired)}" if live.fired else ""
    assert live.launch_s is not None
    return (
        f"{clock(live.launch_s):>9}  requests {live.requests:,}  API p95 {p95}  failures {fail}"
        f"  pending: {pending}{fired}"
    )


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "ratio":
        return f"{value:.1%}" if abs(value) < 10 else f"{value:g}"
    if unit in ("ms", "s"):
        return f"{value:.0f} {unit}" if abs(value) >= 10 else f"{value:.2g} {unit}"
    return f"{value:g}"


def explain_firing(firing: Firing, plan: Plan, compress: float, origin: float | None) -> str:
    """``performance_degradation: API p95 812 ms > 1.5 × baseline 54 ms (…), held 30 s, fired at T+2m40s``."""
    ev = firing.evidence
    trig = next((t for _, t in plan.triggers() if t.id == firing.id), None)
    cond = trig.condition if trig else None
    classes = "/".join(cond.classes) if cond and cond.classes else "all"
    if ev.measured_ms is not None and ev.baseline_ms is not None:
        what = (
            f"p95[{classes}] {ev.measured_ms:.0f} ms > {1 + (ev.threshold or 0):.2g} × baseline "
            f"{ev.baseline_ms:.0f} ms ({ev.baseline_samples} samples over "
            f"{ev.baseline_span_s or 0:.0f} s)"
        )
        if ev.min_change_ms:
            what += f", +{ev.measured_ms - ev.baseline_ms:.0f} ms ≥ {ev.min_change_ms:.0f} ms"
    elif ev.op == "event":
        what = f"{ev.value:g} event(s)"
    else:
        metric = cond.metric.value if cond else "value"
        what = f"{metric}[{classes}] {_num(ev.value, ev.unit)} {ev.op} {_num(ev.threshold, ev.unit)}"
    held = (ev.window_end - ev.first_true) * compress
    window = (ev.window_end - ev.window_start) * compress
    at = clock((firing.first_at - origin) * compress) if origin is not None else "?"
    return (
        f"{firing.id}: {what}; {ev.samples} samples in a {window:.0f}-s window, "
        f"held {held:.0f} s, fired at {at}"
    )


def explain_decision(
    decision: DecisionRecord, plan: Plan, compress: float, origin: float | None
) -> list[str]:
    """The decision block: when, which tier, and each cause with its evidence."""
    at = clock((decision.recorded_at - origin) * compress) if origin is not None else "?"
    head = f"DECISION at {at}: {decision.tier} rollback"
    return [head, *("  " + explain_firing(f, plan, compress, origin) for f in decision.triggers)]
