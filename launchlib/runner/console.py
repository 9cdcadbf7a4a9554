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
from launchlib.runfolder.clock import clock

__all__ = ["Console"]

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
    if live.restart_failures:  # the deploy's restart: said apart, never counted as the candidate's
        fail += f" (+{live.restart_failures} during the deploy's restart)"
    pending = ", ".join(live.pending) or "none"
    fired = f"  fired: {', '.join(live.fired)}" if live.fired else ""
    if live.blind:  # the judge (Prometheus) cannot be read: the monitoring-gap trigger is counting
        fired += f"  JUDGE BLIND: {live.blind}"
    assert live.launch_s is not None
    return (
        f"{clock(live.launch_s):>9}  requests {live.requests:,}  API p95 {p95}  failures {fail}"
        f"  pending: {pending}{fired}"
    )
