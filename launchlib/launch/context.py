"""What a phase notebook works with: plan, run folder, ledger, target and its backends.

:func:`open_phase` turns a notebook's parameters into a :class:`PhaseContext`. With no target
URL it starts an embedded simulator (with the scenario's faults) so that plain
``papermill notebooks/<phase>.ipynb out.ipynb`` runs on its own; a post-deploy phase run
standalone first deploys the candidate and watches with its own monitor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from launchlib.backends.base import Database, Deployer
from launchlib.backends.postgres import PostgresDatabase
from launchlib.backends.simulated import SimDatabase, SimDeployer
from launchlib.backends.webhooks import Deliveries, Message
from launchlib.errors import PlanError, Problem, TargetError
from launchlib.launch.monitor import Monitor
from launchlib.launch.telemetry import monitor_source
from launchlib.plan.files import load_plan
from launchlib.plan.locations import project_path
from launchlib.plan.model import Plan, Stage
from launchlib.probing.target import Target
from launchlib.report.explain import explain_firing
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import Event, append_jsonl, event_time, record_event
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import create_run
from launchlib.runfolder.notes import Recipient, record_notification
from launchlib.runfolder.records import FiringRecord
from launchlib.signoff.ledger import Ledger
from launchlib.signoff.rules import SignoffEntry, load_signoffs
from launchlib.simulator.process import embedded_simulator
from launchlib.simulator.scenarios import Scenario, load_scenario

__all__ = ["FiringAnnouncer", "Notified", "PhaseContext", "deploy_candidate", "open_phase"]


@dataclass(frozen=True)
class Notified:
    """What became of a message: always recorded in the run; delivered only when a channel said so."""

    recorded: bool
    delivered: int
    detail: str


@dataclass
class PhaseContext:
    """Everything one phase needs; ``close()`` stops what it started."""

    phase: str
    plan: Plan
    run_dir: Path
    target: Target
    ledger: Ledger
    scenario: Scenario | None
    compress: float
    signoffs: dict[str, list[SignoffEntry]]
    skip_signoffs: list[str]
    prometheus_url: str = ""
    source: str = "samples"  # what the triggers judge: the probe's samples, or prometheus_url's telemetry
    database_url_env: str = ""
    docker_project: str = ""
    external_monitor: bool = False
    load_rate: float = 100.0
    perf_s: float = 3.0  # the short load test: 300 requests, enough for a p95 per class
    started: float = field(default_factory=time.time)
    _owned: list[Any] = field(default_factory=list)

    @cached_property
    def deployer(self) -> Deployer:
        """The simulator's control API, or the compose project's containers (``docker_project``)."""
        if self.docker_project:
            # heavy and optional: the docker SDK is loaded only for a compose project
            from launchlib.backends.docker import DockerDeployer

            rel = self.plan.releases
            return DockerDeployer(
                self.target, self.docker_project, previous=rel.previous, candidate=rel.candidate
            )
        return SimDeployer(self.target)

    @property
    def database(self) -> Database:
        if self.database_url_env:
            return PostgresDatabase(self.database_url_env, backups_dir=RunFolder(self.run_dir).backups_dir)
        return SimDatabase(self.target)

    @property
    def expected_release(self) -> str:
        """The candidate after the deploy, the previous release once a rollback completed."""
        if event_time(self.run_dir, Event.ROLLBACK_COMPLETED) is not None:
            return self.plan.releases.previous
        return self.plan.releases.candidate

    @property
    def deploy_at(self) -> float | None:
        return event_time(self.run_dir, Event.DEPLOYED)

    def launch_wall(self, offset_s: float) -> float:
        """Wall time of launch-clock offset ``offset_s`` (now stands in for T-0 before there is one)."""
        at = LaunchClock.of_run(self.run_dir, self.compress).wall(offset_s)
        return at if at is not None else time.time() + offset_s / self.compress

    @cached_property
    def deliveries(self) -> Deliveries:
        """The plan's webhook channels; each delivery is recorded in ``deliveries.jsonl``."""
        return Deliveries(
            self.plan.channels, lambda rec: append_jsonl(RunFolder(self.run_dir).deliveries_file, rec)
        )

    def notify(
        self,
        roles: list[str],
        message: str,
        kind: str = "status",
        *,
        event: str = "",
        title: str = "",
        tier: str | None = None,
        wait: bool = False,
    ) -> Notified:
        """Send ``message`` to the holders of ``roles``: recorded in the run's outbox, posted to the
        plan's webhook channels off this path (``wait``: a channel test waits for the outcome), and
        delivered where a channel confirms it (the simulator's war-room channel in a rehearsal)."""
        people = [
            Recipient(role=r, name=self.plan.role(r).name, contact=self.plan.role(r).contact) for r in roles
        ]
        note = record_notification(self.run_dir, self.phase, kind, message, people)
        msg = Message(
            event=event or kind,
            title=title or kind.replace("_", " ").upper(),
            text=message,
            run_id=self.run_dir.name,
            phase=self.phase,
            tier=tier,
            act=[f"{self.plan.role(r).title} ({self.plan.role(r).name})" for r in roles],
            link=str(RunFolder(self.run_dir).report_file),
        )
        posted = self.deliveries.send(msg, wait=wait)
        hooks = sum(r["status"] == "delivered" for r in posted)
        via = f"; webhooks: {hooks} of {len(posted)} delivered" if posted else ""
        sim = self.deployer
        if not isinstance(sim, SimDeployer):
            if self.deliveries.channels:
                return Notified(True, hooks, f"recorded in notifications.jsonl{via or '; webhooks sent'}")
            return Notified(True, 0, "recorded in notifications.jsonl; no delivery channel configured")
        try:
            n = int(sim.command("notify", **note.model_dump(mode="json")).get("delivered", 0))
        except TargetError as exc:
            return Notified(True, hooks, f"recorded in notifications.jsonl; not delivered: {exc}{via}")
        return Notified(
            True, n + hooks, f"delivered to {n} recipient(s) on the simulator's war-room channel{via}"
        )

    def __enter__(self) -> PhaseContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if "deliveries" in self.__dict__:  # messages still on their way are recorded before the kernel goes
            self.deliveries.drain()
        for thing in reversed(self._owned):
            thing.stop()
        self._owned.clear()
        dep = self.__dict__.pop("deployer", None)  # a Docker client holds a connection
        if dep is not None:
            dep.close()


def open_phase(
    phase: str,
    *,
    run_dir: str = "",
    plan_path: str = "parameters/plan.yaml",
    target_url: str = "",
    scenario: str = "",
    compress: float = 30.0,
    signoffs: str = "parameters/signoffs/rehearsal.yaml",
    skip_signoffs: list[str] | None = None,
    prometheus_url: str = "",
    source: str = "samples",
    database_url_env: str = "",
    docker_project: str = "",
    external_monitor: bool = False,
    reports: str = "reports",
) -> PhaseContext:
    """A context from a notebook's parameters (:class:`~launchlib.launch.params.PhaseParams`); see the
    module docstring for the defaults. Every path is made absolute here, once."""
    plan_path, signoffs, reports = project_path(plan_path), project_path(signoffs), project_path(reports)
    plan = load_plan(plan_path)
    try:
        ph = plan.phase(phase) if phase != "rollback" else None
    except KeyError as exc:
        raise PlanError([Problem(plan_path, "phase", str(exc.args[0]))]) from None
    if compress <= 0:
        raise PlanError([Problem("notebook parameters", "compress", f"{compress} must be > 0")])
    sc = load_scenario(scenario, project_path("parameters/scenarios")) if scenario else None
    folder = _phase_folder(run_dir, reports, phase)
    owned: list[Any] = []
    if target_url:
        target = Target(target_url)
    else:
        server = embedded_simulator(plan, sc, compress)
        owned.append(server)
        target = Target(server.url, token=server.config.admin_token)
    skip = list(skip_signoffs or (sc.missing_signoffs if sc else []))
    ctx = PhaseContext(
        phase=phase,
        plan=plan,
        run_dir=folder,
        target=target,
        ledger=Ledger.in_run(folder),
        scenario=sc,
        compress=compress,
        signoffs=load_signoffs(signoffs, plan) if signoffs else {},
        skip_signoffs=skip,
        prometheus_url=prometheus_url,
        source=source,
        database_url_env=database_url_env,
        docker_project=docker_project if target_url else "",
        external_monitor=external_monitor,
        _owned=owned,
    )
    if not target_url and ph is not None and ph.stage is Stage.LAUNCH and ph.offset_s > 0:
        try:
            _standalone_deploy(ctx)
        except BaseException:
            ctx.close()
            raise
    return ctx


def _phase_folder(run_dir: str, reports: str, phase: str) -> Path:
    """The run folder given (made if new), or a fresh one for a notebook run on its own."""
    if run_dir:
        folder = Path(run_dir).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return create_run(reports, f"{phase}-{time.strftime('%Y%m%d-%H%M%S')}").absolute()


def deploy_candidate(ctx: PhaseContext, baseline_s: float) -> float:
    """The one deploy: a monitor watching (the run's, or one this phase starts), ``baseline_s`` real
    seconds of the previous release as the baseline, then the candidate deployed and waited for.
    Returns the wall time the candidate first served (recorded as the ``deployed`` event)."""
    if not ctx.external_monitor and not any(isinstance(o, Monitor) for o in ctx._owned):
        judge = monitor_source(ctx.plan, ctx.source, ctx.prometheus_url)
        ctx._owned.append(
            Monitor(ctx.plan, ctx.target, ctx.run_dir, compress=ctx.compress, source=judge).start()
        )
    time.sleep(baseline_s)
    release = ctx.plan.releases.candidate
    record_event(ctx.run_dir, Event.DEPLOY_STARTED, release=release)
    ctx.deployer.deploy(release)
    at = ctx.deployer.wait_serving(release)
    record_event(ctx.run_dir, Event.DEPLOYED, at=at, release=release)
    return at


def _standalone_deploy(ctx: PhaseContext) -> None:
    """Bring an embedded simulator to this phase's point of the launch: deployed, watched, and the
    launch clock (the simulator's faults too) set so that now is this phase's time."""
    deploy_candidate(ctx, baseline_s=1.0)
    origin = time.time() - ctx.plan.phase(ctx.phase).offset_s / ctx.compress
    sim = ctx.deployer
    assert isinstance(sim, SimDeployer)  # standalone means the embedded simulator
    sim.command("arm", t0=origin, compress=ctx.compress)
    record_event(ctx.run_dir, Event.CLOCK, at=origin)


class FiringAnnouncer:
    """Posts each trigger firing the monitor records to the plan's webhook channels (``trigger_fired``)
    and to the run's outbox; ``close`` waits for deliveries still on their way."""

    def __init__(self, plan: Plan, run_dir: Path, compress: float) -> None:
        self.plan, self.run_dir, self.compress = plan, run_dir, compress
        self.deliveries = Deliveries(
            plan.channels, lambda rec: append_jsonl(RunFolder(run_dir).deliveries_file, rec)
        )

    def __call__(self, firing: FiringRecord) -> None:
        trig = next((t for _, t in self.plan.triggers() if t.id == firing.id), None)
        chain = self.plan.escalation_chain(trig.incident) if trig else []
        origin = LaunchClock.of_run(self.run_dir, self.compress).origin
        text = explain_firing(firing, self.plan, self.compress, origin)
        people = [Recipient(role=r.id, name=r.name, contact=r.contact) for r in chain]
        record_notification(self.run_dir, "monitor", "trigger", text, people)
        self.deliveries.send(
            Message(
                event="trigger_fired",
                title=f"TRIGGER FIRED · {firing.tier} tier",
                text=text,
                run_id=self.run_dir.name,
                phase="monitor",
                tier=str(firing.tier),
                act=[f"{r.title} ({r.name})" for r in chain],
                link=str(RunFolder(self.run_dir).report_file),
            )
        )

    def close(self) -> None:
        self.deliveries.drain()
