"""The rehearsal's timeline: the plan's phases in order on warm kernels, the rollback on a decision.

A :class:`Timeline` is one rehearsal once its parts are up (run folder, simulator, kernel pool,
supervisor): it runs each phase notebook, starts the monitor at the deploy phase and stops it at
the review, skips the launch phases after a rollback or a NO-GO, sends the run to the rollback
notebook the moment a decision lands (:class:`~launchlib.runner.handover.RollbackHandover`:
beside the phase being interrupted, not after it), and settles the outcome. A phase whose kernel died is run
once more on a fresh kernel where the plan says so; a phase past its timeout, or stopped by a
signal or a failure elsewhere, ends the timeline with what it had recorded.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from launchlib.errors import KernelDied, RunBroken
from launchlib.launch.confirm import Confirmation
from launchlib.launch.context import FiringAnnouncer
from launchlib.launch.monitor import Monitor
from launchlib.launch.params import PhaseParams
from launchlib.launch.phases import phase_kind
from launchlib.launch.rollback import PHASE as ROLLBACK
from launchlib.launch.telemetry import monitor_source
from launchlib.plan.model import PhaseKind, Plan
from launchlib.probing.target import Target
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import Event, record_event
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import Manifest, Outcome, PhaseEntry, write_manifest
from launchlib.runfolder.records import (
    AnswerRecord,
    DecisionRecord,
    ErrorRecord,
    ProposalRecord,
    rollback_decision,
)
from launchlib.runfolder.result import PhaseResult, PhaseStatus
from launchlib.runner.console import Console
from launchlib.runner.execute import execute_phase
from launchlib.runner.handover import RollbackHandover
from launchlib.runner.kernels import KernelPool
from launchlib.runner.supervisor import Supervisor
from launchlib.signoff.answers import answer, load_headless_answer

__all__ = ["Timeline", "phase_entry"]


def phase_entry(phase: str, res: PhaseResult | None, status: str = "", reason: str = "") -> PhaseEntry:
    """The manifest's line for a phase: from its result, or a status without one (skipped)."""
    if res is None:
        return PhaseEntry(phase=phase, status=status, reason=reason)
    return PhaseEntry(
        phase=phase,
        status=res.status.value,
        reason=res.reason,
        started=res.started,
        finished=res.finished,
        notebook=f"{phase}.ipynb",
        html=f"{phase}.html",
    )


@dataclass
class Timeline:
    """One rehearsal's timeline over its running parts; ``m`` is its manifest, kept current."""

    plan: Plan
    run_dir: Path
    params: PhaseParams
    notebooks: Path
    console: Console
    pool: KernelPool
    sup: Supervisor
    m: Manifest
    monitor: Monitor | None = None
    announcer: FiringAnnouncer | None = None
    results: dict[str, PhaseResult] = field(default_factory=dict)
    rolled_back: bool = False
    stopped: bool = False  # NO-GO at the gate
    handover: RollbackHandover = field(init=False)
    rollback_recorded: bool = False  # its manifest line is written (whether it rolled back or broke)

    def __post_init__(self) -> None:
        self.handover = RollbackHandover(
            lambda: self.sup.begin(ROLLBACK, rollback=True), self._execute_rollback
        )
        self.sup.on_decision = self.start_rollback

    # -- the timeline ---------------------------------------------------------------------
    def run_all(self) -> None:
        """Every phase in order until the run must stop; then the outcome."""
        phases = [p.id for p in self.plan.phases]
        try:
            for n, phase in enumerate(phases, 1):
                if not self._step(phase, f"[{n:2d}/{len(phases)}]"):
                    break
        finally:
            if self.handover.started and not self.rollback_recorded:  # a rollback in flight is kept
                with contextlib.suppress(RunBroken):  # the run's own error, if any, is the one said
                    self._roll_back(self.sup.decision)
        self._settle()

    def _step(self, phase: str, tag: str) -> bool:
        """One phase of the timeline; ``False`` when the run must stop now."""
        kind = phase_kind(self.plan, phase)
        if self.sup.stop_reason:
            return False
        if self.handover.started and not self.rollback_recorded and not self._roll_back(self.sup.decision):
            return False  # the decision landed between two phases: the rollback first
        if self.stopped or (self.rolled_back and kind in (PhaseKind.WATCH, PhaseKind.SUCCESS)):
            why = "stopped at the go/no-go gate" if self.stopped else "launch rolled back"
            self.m.phases.append(phase_entry(phase, None, PhaseStatus.SKIPPED.value, why))
            self.console.line(f"{tag} {phase:6s} skipped ({why})")
            return True
        self._watch(kind)
        self.sup.begin(phase, rollback=kind is PhaseKind.REVIEW)
        res = self.run(phase, tag)
        if self.sup.stop_reason:
            return False
        if res is not None:
            self.results[phase] = res
        if kind is PhaseKind.GATE:
            self.m.gate = res.gate if res else None
            if res is None or res.status is PhaseStatus.FAILED:
                self.stopped, self.m.outcome = True, Outcome.NO_GO.value
        if kind is PhaseKind.REVIEW or self.rolled_back:
            return True
        decision = self.sup.decision or rollback_decision(self.run_dir)  # the file if the phase was quicker
        return True if decision is None else self._roll_back(decision)

    def _watch(self, kind: PhaseKind) -> None:
        """The monitor from the deploy phase to the review, watched by the supervisor."""
        if kind is PhaseKind.DEPLOY and self.monitor is None:
            p = self.params
            judge = monitor_source(self.plan, p.source, p.prometheus_url)
            self.monitor = Monitor(
                self.plan, Target(p.target_url), self.run_dir, compress=p.compress, source=judge
            )
            self.monitor.on_firing = self.announcer = FiringAnnouncer(self.plan, self.run_dir, p.compress)
            self._hear_proposals(self.monitor.confirmation)
            self.monitor.start()
            self.sup.watch(self.monitor)
            self.sup.webhook_problems = self.announcer.deliveries.problems
        if kind is PhaseKind.REVIEW and self.monitor is not None:  # the launch watch is over
            self.sup.watch(None)
            self.monitor.stop()

    def _hear_proposals(self, confirmation: Confirmation) -> None:
        """Say each proposed rollback and its answer; answer it as the sign-off file's ``decisions:``
        says (``none``, or no entry: a person answers with ``launchlib decide``, else the timeout)."""
        p, plan, clock = self.params, self.plan, LaunchClock.of_run
        headless = load_headless_answer(p.signoffs, plan) if p.signoffs else None

        def proposed(prop: ProposalRecord) -> None:
            by = clock(self.run_dir, p.compress).at(prop.deadline)
            who = " or ".join(prop.roles)
            self.console.line(
                f"PROPOSED rollback ({prop.tier}): {', '.join(prop.causes)}; {who} answers by {by}"
                f" (launchlib decide {self.run_dir.name} --accept|--reject), else: {prop.default}"
            )
            if headless is not None and headless.answer != "none":
                who = headless.by or plan.role(headless.role).name
                why = headless.reason or "rehearsal: the sign-off file's answer"
                accept = headless.answer == "accept"
                answer(
                    self.run_dir,
                    plan,
                    accept=accept,
                    role=headless.role,
                    by=who,
                    reason=why,
                    compress=p.compress,
                )

        def answered(ans: AnswerRecord) -> None:
            at = clock(self.run_dir, p.compress).at(ans.answered_at)
            who = f" by {ans.by} ({ans.role})" if ans.by else ""
            why = f": {ans.reason}" if ans.reason else ""
            self.console.line(f"ANSWER {ans.answer}{who} at {at} -> {ans.acted}{why}")

        confirmation.on_proposal, confirmation.on_answer = proposed, answered

    def start_rollback(self, decision: DecisionRecord) -> None:
        """The rollback notebook on the reserved kernel, now: the supervisor calls this the
        moment a decision lands and interrupts the phase it stops beside it (the timeline
        calls it too, for a decision it found itself); the second call does nothing."""
        self.sup.announce(decision)
        self.handover.start()

    def _execute_rollback(self) -> PhaseResult:
        """The rollback's own thread: the notebook, its kernel's death noted while it is watched."""
        try:
            return self._execute(ROLLBACK, PhaseParams(**{**self.params.to_papermill(), "phase": ROLLBACK}))
        except KernelDied as exc:
            self.sup.note_kernel_death(ROLLBACK, exc.how)
            raise
        finally:
            self.sup.end(ROLLBACK)

    def _roll_back(self, decision: DecisionRecord | None) -> bool:
        """Wait for the rollback (started now if nobody did) and record it after the phase it stopped."""
        assert decision is not None, "a rollback starts from a decision"
        self.start_rollback(decision)
        self.m.decisions = [decision]
        tag = "[ rollback]"
        try:
            res = self.handover.result()
        except RunBroken as exc:
            self.rollback_recorded = True
            self._broken(ROLLBACK, tag, exc)
            rb = None
        else:
            rb = self._record(ROLLBACK, tag, res, self.handover.began or time.perf_counter())
        self.m.rollback, self.rolled_back, self.rollback_recorded = (rb.rollback if rb else None), True, True
        return not self.sup.stop_reason

    def _settle(self) -> None:
        sup, m = self.sup, self.m
        if sup.stop_reason:
            m.outcome = sup.stop_reason if sup.failure is None else f"error: {sup.failure}"
            m.error = ErrorRecord(phase=sup.phase, message=sup.stop_reason)
        elif m.kind is Outcome.RUNNING:
            passed = all(x.status is PhaseStatus.PASSED for x in self.results.values())
            kind = Outcome.LAUNCHED if passed else Outcome.LAUNCHED_WITH_FINDINGS
            m.outcome = (Outcome.ROLLED_BACK if self.rolled_back else kind).value

    def stop_watch(self) -> None:
        """Teardown: the monitor and its webhook deliveries, if the deploy phase started them."""
        if self.monitor is not None:
            self.monitor.stop()
        if self.announcer is not None:
            self.announcer.close()

    # -- one notebook ---------------------------------------------------------------------
    def run(self, phase: str, tag: str) -> PhaseResult | None:
        """One notebook; ``None`` when it was interrupted (or timed out) before it had a result."""
        started = time.perf_counter()
        params = PhaseParams(**{**self.params.to_papermill(), "phase": phase})
        try:
            res = self._execute(phase, params)
        except RunBroken as exc:
            self._broken(phase, tag, exc)
            return None
        finally:
            self.sup.end(phase)
        return self._record(phase, tag, res, started)

    def _record(self, phase: str, tag: str, res: PhaseResult, started: float) -> PhaseResult:
        """A notebook's result: its manifest line (written now) and its console line."""
        self.m.phases.append(phase_entry(phase, res))
        write_manifest(self.run_dir, self.m)
        why = f" — {res.reason}" if res.reason else ""
        line = f"{tag} {phase:6s} {res.status.value:11s} {time.perf_counter() - started:5.1f} s{why}"
        self.console.line(line[:220])
        return res

    def _broken(self, phase: str, tag: str, exc: RunBroken) -> None:
        """A notebook that ended without a result: recorded; raised again unless it was stopped."""
        status, reason = self._broken_status(phase, exc)
        entry = PhaseEntry(
            phase=phase, status=status, reason=reason, notebook=f"{phase}.ipynb", html=f"{phase}.html"
        )
        self.m.phases.append(entry)
        write_manifest(self.run_dir, self.m)
        self.console.line(f"{tag} {phase:6s} {status.upper()} {reason}"[:400])
        if status == "error" or (status == "failed" and self.sup.timed_out != phase):
            raise exc

    def _execute(self, phase: str, params: PhaseParams) -> PhaseResult:
        """The notebook on a kernel of the pool; once more on a fresh kernel if its kernel died and
        the plan says so (the first attempt's notebook kept beside it, the retry an event)."""
        try:
            return execute_phase(params, self.run_dir, self.notebooks, self.pool, render=False, checked=True)
        except KernelDied as exc:
            retry = phase != ROLLBACK and self.plan.phase(phase).retry_on_kernel_death
            if not retry or self.sup.stop_reason is not None or self.sup.decision is not None:
                raise  # a decided launch does not run its phase again: the rollback runs
            folder = RunFolder(self.run_dir)
            if folder.notebook(phase).exists():
                folder.notebook(phase).rename(folder.notebook(phase, attempt=1))
            record_event(self.run_dir, Event.PHASE_RETRIED, phase=phase, reason=str(exc))
            self.console.line(f"warning: {exc}: running {phase} once more on a fresh kernel")
            self.sup.begin(phase, rollback=not self.sup.watch_decisions)
            return execute_phase(params, self.run_dir, self.notebooks, self.pool, render=False, checked=True)

    def _broken_status(self, phase: str, exc: RunBroken) -> tuple[str, str]:
        """What a notebook that ended without a result is: ``failed`` (timed out, or its kernel
        died), ``interrupted`` (a signal, a failure elsewhere or a decision stopped it), or ``error``."""
        sup = self.sup
        if isinstance(exc, KernelDied):
            sup.note_kernel_death(phase, exc.how)
        if sup.timed_out == phase:
            return "failed", sup.failure or str(exc)
        stopped = sup.stop_reason is not None or (sup.decision is not None and phase != ROLLBACK)
        if stopped and ("KeyboardInterrupt" in str(exc) or isinstance(exc, KernelDied)):
            return "interrupted", str(exc)
        return ("failed" if isinstance(exc, KernelDied) else "error"), str(exc)
