"""One run folder read whole, on the launch clock: what the run report, the index and the analysis read.

Times in a run folder are wall seconds; people read the launch clock. :class:`RunData` holds
the manifest, the plan and scenario the run used, its events, firings and decision, samples,
phase results, sign-offs and messages, and converts wall time to launch seconds from T-0
(``(wall - deployed) × compression``). The markers every chart draws come from here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from launchlib.errors import LaunchError, RunError
from launchlib.plan.files import load_plan
from launchlib.plan.locations import project_path
from launchlib.plan.model import Plan
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import (
    Event,
    TimelineEvent,
    first_event,
    read_events,
    read_run_samples,
)
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import Manifest, read_manifest
from launchlib.runfolder.notes import Notification, read_notifications
from launchlib.runfolder.records import DecisionRecord, FiringRecord, Line, read_decisions
from launchlib.runfolder.result import PhaseResult, read_results
from launchlib.signoff.ledger import Event as SignEvent
from launchlib.signoff.ledger import Ledger
from launchlib.simulator.scenarios import Scenario, load_scenario

__all__ = ["Marker", "RunData", "load_run"]


@dataclass(frozen=True)
class Marker:
    """A moment every launch-clock chart marks: deploy, fault onset, a firing, the decision, …"""

    kind: str  # deploy | onset | firing | decision | rollback | recovered
    label: str
    launch_s: float


@dataclass
class RunData:
    run_dir: Path
    manifest: Manifest
    plan: Plan
    scenario: Scenario | None
    events: list[TimelineEvent]
    decisions: list[Line]
    results: dict[str, PhaseResult]
    signoffs: list[SignEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    _samples: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def samples(self) -> pd.DataFrame:
        """Every sample of the run, read on first use: an analysis over many runs reads them
        through DuckDB instead (:mod:`launchlib.runfolder.sample_query`), a window at a time."""
        if self._samples is None:
            self._samples = read_run_samples(self.run_dir)
        return self._samples

    @property
    def origin(self) -> float | None:
        """Wall time of T-0 (:class:`LaunchClock`'s rule); ``None`` before it."""
        return LaunchClock.from_events(self.events, self.manifest.compress).origin

    def launch_s(self, wall: float) -> float:
        """Launch seconds from T-0 of a wall time (the run's start stands in before any deploy)."""
        origin = self.origin if self.origin is not None else self.manifest.started
        return (wall - origin) * self.manifest.compress

    def event_at(self, name: Event) -> float | None:
        """Launch seconds of the first ``name`` event, if any."""
        first = first_event(self.events, name)
        return None if first is None else self.launch_s(first.at)

    @property
    def decision(self) -> DecisionRecord | None:
        return next((r for r in self.decisions if isinstance(r, DecisionRecord)), None)

    @property
    def firings(self) -> list[FiringRecord]:
        return [r for r in self.decisions if isinstance(r, FiringRecord)]

    def markers(self) -> list[Marker]:
        """Deploy, fault onset (rehearsals), each firing, decision, rollback start, recovered."""
        out: list[Marker] = []
        if self.origin is not None and self.event_at(Event.DEPLOYED) is not None:
            out.append(Marker("deploy", f"deploy {self.plan.releases.candidate}", 0.0))
        onset = self.scenario.first_onset() if self.scenario else None
        if onset is not None and self.origin is not None:
            out.append(Marker("onset", "fault onset", float(onset)))
        out += [
            Marker("firing", f"{f.id} fired", self.launch_s(f.first_at))
            for f in self.firings
            if not f.after_decision
        ]
        d = self.decision
        if d is not None:
            out.append(Marker("decision", f"{d.tier} rollback decided", self.launch_s(d.recorded_at)))
        for name, kind, label in (
            (Event.ROLLBACK_STARTED, "rollback", "rollback started"),
            (Event.POST_CHECKS_GREEN, "recovered", "recovered"),
        ):
            at = self.event_at(name)
            if at is not None:
                out.append(Marker(kind, label, at))
        return out

    def phase_spans(self) -> list[tuple[str, float, float, str]]:
        """``(phase, start, end, status)`` in launch seconds, for every phase that ran."""
        return [
            (p.phase, self.launch_s(p.started), self.launch_s(p.finished), p.status)
            for p in self.manifest.phases
            if p.started is not None and p.finished is not None
        ]


def _scenario(run_dir: Path) -> Scenario | None:
    path = RunFolder(run_dir).scenario_file
    return load_scenario(path) if path.exists() else None


def load_run(run_dir: Path | str, *, with_results: bool = True) -> RunData:
    """Everything a run folder recorded; a missing or corrupt part is a :class:`RunError` naming it.

    ``with_results`` reads the executed notebooks' glued results (scrapbook), the slowest part;
    the samples are read when first asked for (:attr:`RunData.samples`).
    """
    run_dir = Path(run_dir)
    m = read_manifest(run_dir)
    folder = RunFolder(run_dir)
    plan_path = folder.plan(project_path("parameters/plan.yaml"))  # run-phase alone: the project's
    if not plan_path.exists():
        raise RunError(f"{folder.plan_file}: missing (the run's own copy of its plan)")
    try:
        plan, scenario = load_plan(plan_path), _scenario(run_dir)
    except LaunchError as exc:
        raise RunError(f"{run_dir}: {exc}") from None
    signoffs: list[SignEvent] = []
    if folder.ledger_file.exists():
        signoffs = Ledger(folder.ledger_file, m.run_id).history()
    return RunData(
        run_dir=run_dir,
        manifest=m,
        plan=plan,
        scenario=scenario,
        events=read_events(run_dir),
        decisions=read_decisions(run_dir),
        results=read_results(run_dir) if with_results else {},
        signoffs=signoffs,
        notifications=read_notifications(run_dir),
    )
