"""The rehearsal's watchdog: reacts within one evaluation interval, wherever the timeline is.

While a phase notebook runs, a :class:`Supervisor` thread looks every evaluation interval at
what the runner must not miss: the monitor's health (a dead or stalled monitor stops the run:
a rehearsal that cannot see must say so), the embedded simulator still serving, a rollback
decision (a phase still at work is interrupted so the rollback starts at once, not when the
notebook happens to end), and SIGINT/SIGTERM. It interrupts the running kernel (a
KeyboardInterrupt in its cell) and records why as an ``interrupt`` event; the runner reads
:attr:`Supervisor.stop_reason` and :attr:`Supervisor.failure` when the notebook returns.
It also feeds the console's live status.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from launchlib.launch.monitor import Monitor
from launchlib.plan.model import Plan
from launchlib.report.explain import explain_decision
from launchlib.report.scorecard import clock
from launchlib.runfolder.events import Event, event_time, read_events, record_event
from launchlib.runfolder.records import DecisionRecord, rollback_decision
from launchlib.runner.console import Console

__all__ = ["Supervisor"]


class Supervisor:
    """Watches monitor, simulator, decisions and signals for the runner; see the module doc."""

    def __init__(
        self,
        run_dir: Path,
        plan: Plan,
        compress: float,
        interrupt: Callable[[], bool],
        console: Console,
        server_alive: Callable[[], bool] | None = None,
    ) -> None:
        self.run_dir, self.plan, self.compress = run_dir, plan, compress
        self.interval = min(1.0, max(0.05, plan.monitoring.interval_s / compress))
        self._interrupt, self.console, self.server_alive = interrupt, console, server_alive
        self.monitor: Monitor | None = None
        self.injector_error: Callable[[], str | None] | None = None  # a stack's container faults
        self.phase: str | None = None  # the phase whose notebook runs now
        self.watch_decisions = True  # off once the rollback has started
        self.failure: str | None = None  # the run broke: monitor or simulator stopped
        self.signal: str | None = None  # SIGINT / SIGTERM received
        self.decision: DecisionRecord | None = None
        self._decision_seen: float | None = None
        self._interrupted_phase: str | None = None
        self._announced = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="launchlib-supervisor", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.console.end_live()

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the run in a known state instead of killing it mid-write."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.signal is not None:  # a second Ctrl-C: the person means it
                raise KeyboardInterrupt
            self.signal = signal.Signals(signum).name
            self._stop_phase(f"{self.signal} received")

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    # -- what the runner asks ---------------------------------------------------------------
    def launch_clock(self) -> str:
        deployed = event_time(self.run_dir, Event.DEPLOYED)
        return "before T-0" if deployed is None else clock((time.time() - deployed) * self.compress)

    @property
    def stop_reason(self) -> str | None:
        """Why the run must stop now (failure or signal), if it must."""
        if self.failure:
            return self.failure
        if self.signal:
            return f"interrupted by {self.signal} at {self.launch_clock()} during {self.phase or 'setup'}"
        return None

    def announce(self, decision: DecisionRecord) -> None:
        """The decision block on the console, once, whoever sees the decision first."""
        with self._lock:
            if self._announced:
                return
            self._announced, self.decision = True, decision
        deployed = event_time(self.run_dir, Event.DEPLOYED)
        for text in explain_decision(decision, self.plan, self.compress, deployed):
            self.console.line(text)

    def begin(self, phase: str, *, rollback: bool = False) -> None:
        """A notebook starts; from the rollback (or the review) on, decisions interrupt nothing."""
        with self._lock:
            self.phase = phase
            if rollback:
                self.watch_decisions = False

    # -- the loop ---------------------------------------------------------------------------
    def _stop_phase(self, reason: str, decision: bool = False) -> None:
        with self._lock:
            if decision and not self.watch_decisions:
                return
            if self.phase is not None and self._interrupted_phase != self.phase:
                self._interrupted_phase = self.phase
                record_event(self.run_dir, Event.INTERRUPT, phase=self.phase, reason=reason)
                self._interrupt()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
            except Exception as exc:  # the watchdog itself failing is a broken run, never silence
                self.failure = f"the run's supervisor failed: {type(exc).__name__}: {exc}"
                self._stop_phase(self.failure)
                return

    def _tick(self) -> None:
        if self.failure is None and self.monitor is not None:
            why = self.monitor.health()
            if why is not None:
                self.failure = f"monitoring stopped at {self.launch_clock()}: {why}"
                record_event(self.run_dir, Event.MONITOR_FAILED, reason=why)
                self._stop_phase(self.failure)
        if self.failure is None and self.injector_error is not None and (why := self.injector_error()):
            self.failure = why
            self._stop_phase(self.failure)
        if self.failure is None and self.server_alive is not None and not self.server_alive():
            self.failure = f"the embedded simulator stopped at {self.launch_clock()}"
            self._stop_phase(self.failure)
        if self.watch_decisions and self.decision is None:
            decision = rollback_decision(self.run_dir)
            if decision is not None:
                self._decision_seen = time.monotonic()
                self.announce(decision)
        if (
            self.watch_decisions
            and self.decision is not None
            and self._decision_seen is not None
            and time.monotonic() - self._decision_seen >= self.interval  # the phase may end by itself
            and not self._phase_finished()
        ):
            self._stop_phase(f"rollback decision ({self.decision.tier})", decision=True)
        if self.monitor is not None and self.failure is None:
            self.console.status(self.monitor.live())

    def _phase_finished(self) -> bool:
        return any(
            e.get("event") == Event.PHASE_FINISHED and e.get("phase") == self.phase
            for e in read_events(self.run_dir)
        )
