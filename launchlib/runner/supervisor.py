"""The rehearsal's watchdog: reacts within one evaluation interval, wherever the timeline is.

While a phase notebook runs, a :class:`Supervisor` thread looks every evaluation interval at
what the runner must not miss: the monitor's health (a dead or stalled monitor stops the run:
a rehearsal that cannot see must say so), the embedded simulator still serving, a rollback
decision (handed to the runner at once, :attr:`Supervisor.on_decision`, which starts the rollback
notebook on its reserved kernel while the phase still at work is interrupted: in parallel, not
after it), and SIGINT/SIGTERM. It interrupts a running kernel (a KeyboardInterrupt in its cell)
and records why as an ``interrupt`` event; the runner reads
:attr:`Supervisor.stop_reason` and :attr:`Supervisor.failure` when the notebook returns.
It also feeds the console's live status.

It watches the kernels too, each notebook running (the rollback beside the phase it interrupts)
by its own name: a dead warm or reserved kernel is replaced (an event and a warning), a dead
running kernel is recorded (nbclient ends the notebook within a second), a phase past its
timeout (:func:`~launchlib.plan.timeline.phase_timeout_s`) is stopped and failed, and a kernel
that does not answer its interrupt within :data:`GRACE_S` is killed, so that no state of a
kernel (alive, dead, hung in a cell, stopped) keeps a signal from ending the run.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from launchlib.launch.monitor import Monitor
from launchlib.plan.model import Plan
from launchlib.plan.timeline import phase_timeout_s
from launchlib.report.explain import explain_decision
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import Event, first_event, read_events, record_event
from launchlib.runfolder.records import DecisionRecord, rollback_decision
from launchlib.runner.console import Console
from launchlib.runner.kernels import KernelPool

__all__ = ["GRACE_S", "Supervisor", "catch_signals"]

GRACE_S = 5.0  # real seconds a kernel has to answer an interrupt before it is killed


@contextlib.contextmanager
def catch_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM call ``on_signal(name)``; a second one raises
    KeyboardInterrupt (the person means it). Only the main thread can hold signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if seen:
            raise KeyboardInterrupt
        seen.append(signal.Signals(signum).name)
        on_signal(seen[0])

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclass
class _Running:
    """A notebook being watched: its timeout, whether a decision stops it, what was done to it."""

    timeout_s: float
    deadline: float  # monotonic
    decides: bool  # a rollback decision interrupts it (not the rollback itself, not the review)
    interrupted_at: float | None = None  # monotonic
    killed: bool = False
    death: str | None = None  # how its kernel ended, once recorded


class Supervisor:
    """Watches monitor, simulator, decisions and signals for the runner; see the module doc."""

    def __init__(
        self,
        run_dir: Path,
        plan: Plan,
        compress: float,
        kernels: KernelPool,
        console: Console,
        server_alive: Callable[[], bool] | None = None,
    ) -> None:
        self.run_dir, self.plan, self.compress = run_dir, plan, compress
        self.interval = min(1.0, max(0.05, plan.monitoring.interval_s / compress))
        self.kernels, self.console, self.server_alive = kernels, console, server_alive
        self.monitor: Monitor | None = None
        self.injector_error: Callable[[], str | None] | None = None  # a stack's container faults
        self.webhook_problems: Callable[[], list[str]] | None = None  # the war room's deliveries
        self.phase: str | None = None  # the phase whose notebook runs now
        self.watch_decisions = True  # off once the rollback has started
        self.failure: str | None = None  # the run broke: monitor or simulator stopped
        self.signal: str | None = None  # SIGINT / SIGTERM received
        self.decision: DecisionRecord | None = None
        self.on_decision: Callable[[DecisionRecord], None] | None = None  # the runner's rollback start
        self._running: dict[str, _Running] = {}  # per phase: the notebooks running now
        self.timed_out: str | None = None  # the phase stopped for running past its timeout
        self._announced = False
        self._lock = threading.Lock()
        self._landed: queue.SimpleQueue[DecisionRecord] = queue.SimpleQueue()  # from the monitor
        self._wake = threading.Event()  # look now, not at the next interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="launchlib-supervisor", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5.0)
        self.console.end_live()

    def signals(self) -> contextlib.AbstractContextManager[None]:
        """SIGINT and SIGTERM stop the run in a known state instead of killing it mid-write."""
        return catch_signals(self._on_signal)

    def _on_signal(self, name: str) -> None:
        self.signal = name
        self._stop_phase(f"{name} received")

    def watch(self, monitor: Monitor | None) -> None:
        """The in-process monitor to watch (``None``: the watch is over); its decisions come
        to :meth:`decision_landed` as they are made, not through a re-read of ``decisions.jsonl``."""
        if monitor is not None:
            monitor.on_decision = self.decision_landed
        self.monitor = monitor

    def decision_landed(self, decision: DecisionRecord) -> None:
        """The monitor's callback (its own thread): queue the decision and look at once."""
        self._landed.put(decision)
        self._wake.set()

    # -- what the runner asks ---------------------------------------------------------------
    def launch_clock(self) -> str:
        return str(LaunchClock.of_run(self.run_dir, self.compress))

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
        origin = LaunchClock.of_run(self.run_dir, self.compress).origin
        for text in explain_decision(decision, self.plan, self.compress, origin):
            self.console.line(text)

    def begin(self, phase: str, *, rollback: bool = False) -> None:
        """A notebook starts; from the rollback (or the review) on, decisions interrupt nothing."""
        timeout_s = phase_timeout_s(self.plan, phase, self.compress)
        with self._lock:
            self.phase = phase
            self._running[phase] = _Running(timeout_s, time.monotonic() + timeout_s, decides=not rollback)
            if rollback:
                self.watch_decisions = False

    def end(self, phase: str) -> None:
        """``phase``'s notebook returned: nothing of it runs that could time out or need killing."""
        with self._lock:
            self._running.pop(phase, None)

    # -- the loop ---------------------------------------------------------------------------
    def _stop_phase(self, reason: str, decision: bool = False) -> None:
        """Interrupt every notebook running (a decision: those it stops), each once."""
        now = time.monotonic()
        with self._lock:
            stop = [
                p
                for p, r in self._running.items()
                if r.interrupted_at is None and not r.killed and (r.decides or not decision)
            ]
            for p in stop:
                self._running[p].interrupted_at = now
        for p in stop:
            record_event(self.run_dir, Event.INTERRUPT, phase=p, reason=reason)
            self.kernels.interrupt(p)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._tick()
            except Exception as exc:  # the watchdog itself failing is a broken run, never silence
                self.failure = f"the run's supervisor failed: {type(exc).__name__}: {exc}"
                self._stop_phase(self.failure)
                return

    def _tick(self) -> None:
        if self.stop_reason:  # a notebook begun after the signal or failure stops too
            self._stop_phase(self.stop_reason)
        self._watch_decision()  # first: the monitor's callback woke this tick for it
        self._watch_kernels()
        self._watch_parts()
        self._watch_webhooks()
        if self.monitor is not None and self.failure is None:
            self.console.status(self.monitor.live())

    def note_kernel_death(self, phase: str, how: str | None = None) -> None:
        """Record, once, that the kernel running ``phase`` died (this watch, or the runner when the
        notebook ended on it first: the event must not depend on which of the two saw it)."""
        how = how or self.kernels.current_death(phase)
        with self._lock:
            r = self._running.get(phase)
            if how is None or r is None or r.death is not None:
                return
            r.death = how
        record_event(self.run_dir, Event.KERNEL_DIED, phase=phase, reason=f"kernel died ({how})")

    def _watch_kernels(self) -> None:
        """Replace dead waiting kernels; record dead running ones; time out and kill hung ones."""
        for said in self.kernels.watch():
            record_event(self.run_dir, Event.KERNEL_REPLACED, phase=self.phase, reason=said)
            self.console.line(f"warning: {said}")
        with self._lock:
            running = list(self._running.items())
        for phase, r in running:
            self._watch_running(phase, r, time.monotonic())

    def _watch_running(self, phase: str, r: _Running, now: float) -> None:
        if self.kernels.current_death(phase) is not None:
            self.note_kernel_death(phase)
            return
        if now > r.deadline and self.failure is None:
            self.timed_out = phase
            self.failure = f"phase {phase} ran past its timeout of {r.timeout_s:.0f} s"
            record_event(self.run_dir, Event.PHASE_TIMEOUT, phase=phase, reason=self.failure)
            self._stop_phase(self.failure)
        elif (
            r.interrupted_at is not None
            and not r.killed
            and now - r.interrupted_at > GRACE_S
            and self.kernels.kill_current(phase)
        ):
            r.killed = True
            record_event(self.run_dir, Event.KERNEL_KILLED, phase=phase, reason=f"no answer in {GRACE_S:g} s")

    def _watch_parts(self) -> None:
        """The monitor, a stack's fault injector and the embedded simulator: one stopping breaks the run."""
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

    def _watch_webhooks(self) -> None:
        """A delivery that crashed or hangs past its deadline: said on the console and recorded
        (the rollback never waits on one; the war room must know a message may not have come)."""
        for said in self.webhook_problems() if self.webhook_problems is not None else []:
            record_event(self.run_dir, Event.DELIVERY_PROBLEM, reason=said)
            self.console.line(f"warning: webhook delivery {said}")

    def _watch_decision(self) -> None:
        """A decision: announced, handed to the runner (the rollback starts now) and, in the same
        tick, every phase it stops interrupted; a phase that already finished is left to end."""
        if self.watch_decisions and self.decision is None:
            decision = self._next_landed() if self.monitor is not None else rollback_decision(self.run_dir)
            if decision is not None:
                self.announce(decision)
                if self.on_decision is not None:
                    self.on_decision(decision)
        if self.decision is not None:
            with self._lock:
                stop = [p for p, r in self._running.items() if r.decides and r.interrupted_at is None]
            if stop and not all(self._phase_finished(p) for p in stop):
                self._stop_phase(f"rollback decision ({self.decision.tier})", decision=True)

    def _next_landed(self) -> DecisionRecord | None:
        try:
            return self._landed.get_nowait()
        except queue.Empty:
            return None

    def _phase_finished(self, phase: str) -> bool:
        return first_event(read_events(self.run_dir), Event.PHASE_FINISHED, phase) is not None
