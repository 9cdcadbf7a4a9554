"""The rehearsal runner: every phase notebook in order with papermill, rollback on a decision.

One Python process drives all phases (kernel start-up is the floor; see ``bench/``). With no
target it starts the simulator with the scenario's faults; from T-0 on a :class:`Monitor`
samples and watches without a break between notebooks. A :class:`Supervisor` looks every
evaluation interval at the monitor's health, the simulator, rollback decisions and signals, and
interrupts the running notebook when one of them calls for it: a decision sends the run to the
rollback notebook at once (the remaining launch phases are skipped, the run goes on to the
review); a dead monitor ends the run as ``error: monitoring stopped at T+…``; Ctrl-C ends it as
``interrupted``. A NO-GO at the gate stops the run there. Each phase is archived and the
manifest rewritten as it goes, so a partial run stays readable; nothing recorded is lost.

:func:`exit_code` maps a finished run to the command's exit code (0 as expected, 1 findings,
3 the run broke; bad input never gets this far and is 2).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from launchlib.errors import (
    EXIT_BROKEN,
    EXIT_FINDINGS,
    EXIT_OK,
    KernelDied,
    PlanError,
    RunBroken,
    TargetError,
)
from launchlib.launch.context import FiringAnnouncer
from launchlib.launch.monitor import Monitor
from launchlib.launch.params import PhaseParams, check_notebook_parameters
from launchlib.launch.phases import phase_kind
from launchlib.launch.rollback import PHASE as ROLLBACK
from launchlib.plan.files import load_plan
from launchlib.plan.locations import notebooks_folder, project_path
from launchlib.plan.model import PhaseKind, Plan
from launchlib.plan.yamlfile import dump_yaml
from launchlib.probing.probes import check_health
from launchlib.probing.target import DEFAULT_TOKEN_ENV, Target
from launchlib.report.html import render_html
from launchlib.report.index import write_index
from launchlib.report.run_report import write_report
from launchlib.report.scorecard import compression_note, describe, not_scored, score
from launchlib.runfolder.clock import clock
from launchlib.runfolder.events import Event, record_event
from launchlib.runfolder.folder import Manifest, PhaseEntry, create_run, write_manifest
from launchlib.runfolder.records import ErrorRecord, read_decisions, rollback_decision
from launchlib.runfolder.result import PhaseResult, PhaseStatus
from launchlib.runner.console import Console
from launchlib.runner.dryrun import fault_problems, scenario_file
from launchlib.runner.execute import execute_phase
from launchlib.runner.kernels import KernelPool
from launchlib.runner.supervisor import Supervisor, catch_signals
from launchlib.signoff.rules import load_signoffs
from launchlib.simulator.process import SimProcess, embedded_simulator
from launchlib.simulator.scenarios import Scenario, load_scenario

if TYPE_CHECKING:  # the docker SDK is loaded only for a compose project
    from launchlib.backends.container_faults import ContainerFaults
    from launchlib.backends.docker import DockerDeployer

__all__ = ["exit_code", "rehearse"]


def exit_code(m: Manifest) -> int:
    """0: ran and matched the scenario (launch day: no finding); 1: findings; 3: the run broke."""
    if m.outcome.startswith(("error", "interrupted")) or m.outcome == "running":
        return EXIT_BROKEN
    expected = m.scorecard.as_expected if m.scorecard else None
    if expected is not None:
        return EXIT_OK if expected else EXIT_FINDINGS
    return EXIT_OK if m.outcome == "launched" else EXIT_FINDINGS


def _entry(phase: str, res: PhaseResult | None, status: str = "", reason: str = "") -> PhaseEntry:
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


class _Rehearsal:
    """One rehearsal's moving parts, so that ``rehearse`` reads as the timeline it runs."""

    def __init__(
        self, plan: Plan, sc: Scenario, run_dir: Path, params: PhaseParams, notebooks: Path, console: Console
    ) -> None:
        self.plan, self.sc, self.run_dir, self.params = plan, sc, run_dir, params
        self.notebooks, self.console = notebooks, console
        self.phases = [p.id for p in plan.phases]

    def run(self, phase: str, tag: str, pool: KernelPool, m: Manifest, sup: Supervisor) -> PhaseResult | None:
        """One notebook; ``None`` when it was interrupted (or timed out) before it had a result."""
        started = time.perf_counter()
        params = PhaseParams(**{**self.params.to_papermill(), "phase": phase})
        try:
            res = self._execute(phase, params, pool, sup)
        except RunBroken as exc:
            status, reason = self._broken_status(phase, exc, sup)
            m.phases.append(
                PhaseEntry(
                    phase=phase,
                    status=status,
                    reason=reason,
                    notebook=f"{phase}.ipynb",
                    html=f"{phase}.html",
                )
            )
            write_manifest(self.run_dir, m)
            self.console.line(f"{tag} {phase:6s} {status.upper()} {reason}"[:400])
            if status == "error" or (status == "failed" and sup.timed_out != phase):
                raise
            return None
        finally:
            sup.end()
        m.phases.append(_entry(phase, res))
        write_manifest(self.run_dir, m)
        why = f" — {res.reason}" if res.reason else ""
        line = f"{tag} {phase:6s} {res.status.value:11s} {time.perf_counter() - started:5.1f} s{why}"
        self.console.line(line[:220])
        return res

    def _execute(self, phase: str, params: PhaseParams, pool: KernelPool, sup: Supervisor) -> PhaseResult:
        """The notebook on a kernel of ``pool``; once more on a fresh kernel if its kernel died and
        the plan says so (the first attempt's notebook kept beside it, the retry an event)."""
        try:
            return execute_phase(params, self.run_dir, self.notebooks, pool, render=False, checked=True)
        except KernelDied as exc:
            retry = phase != ROLLBACK and self.plan.phase(phase).retry_on_kernel_death
            if not retry or sup.stop_reason is not None:
                raise
            first = self.run_dir / f"{phase}.attempt-1.ipynb"
            if (self.run_dir / f"{phase}.ipynb").exists():
                (self.run_dir / f"{phase}.ipynb").rename(first)
            record_event(self.run_dir, Event.PHASE_RETRIED, phase=phase, reason=str(exc))
            self.console.line(f"warning: {exc}: running {phase} once more on a fresh kernel")
            sup.begin(phase, rollback=not sup.watch_decisions)
            return execute_phase(params, self.run_dir, self.notebooks, pool, render=False, checked=True)

    @staticmethod
    def _broken_status(phase: str, exc: RunBroken, sup: Supervisor) -> tuple[str, str]:
        """What a notebook that ended without a result is: ``failed`` (timed out, or its kernel
        died), ``interrupted`` (a signal, a failure elsewhere or a decision stopped it), or ``error``."""
        if sup.timed_out == phase:
            return "failed", sup.failure or str(exc)
        stopped = sup.stop_reason is not None or (sup.decision is not None and phase != ROLLBACK)
        if stopped and ("KeyboardInterrupt" in str(exc) or isinstance(exc, KernelDied)):
            return "interrupted", str(exc)
        return ("failed" if isinstance(exc, KernelDied) else "error"), str(exc)


def rehearse(
    scenario: str = "latency-spike",
    *,
    run_id: str | None = None,
    reports: Path | str = "reports",
    target_url: str = "",
    compress: float = 30.0,
    plan_path: Path | str = "parameters/plan.yaml",
    signoffs: Path | str = "parameters/signoffs/rehearsal.yaml",
    notebooks: Path | None = None,
    console: Console | None = None,
    docker_project: str = "",
) -> tuple[Path, Manifest]:
    """Run a whole rehearsal; returns the run folder and its manifest (see the module doc).

    With ``docker_project`` the target is a compose stack (``target_url`` its URL): deploys and
    rollbacks go through the Docker Engine and the scenario's container faults are acted on it.

    Every path is made absolute here, once. Bad input raises before anything is created; a run
    that breaks later returns with outcome ``error: …`` (what was recorded stays).
    """
    console = console or Console()
    reports, notebooks = Path(reports).absolute(), notebooks or notebooks_folder()
    plan_path, signoffs = project_path(str(plan_path)), project_path(str(signoffs))
    plan, sc = load_plan(plan_path), load_scenario(scenario, Path(project_path("parameters/scenarios")))
    if signoffs:
        load_signoffs(signoffs, plan)  # a bad sign-off file is bad input: refused before anything runs
    problems = [
        problem
        for phase in [*(p.id for p in plan.phases), ROLLBACK]
        for problem in check_notebook_parameters(
            notebooks / f"{phase}.ipynb", PhaseParams(phase=phase).to_papermill()
        )
    ]
    problems += fault_problems(sc, scenario_file(scenario), target_url, docker_project)
    if problems:
        raise PlanError(problems)
    if target_url and not (probe := check_health(Target(target_url))).passed:
        raise RunBroken(f"--target {target_url}: unreachable at start ({probe.detail})")
    stack = _stack(plan, target_url, docker_project) if docker_project else None
    run_dir = create_run(reports, run_id or f"{sc.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copyfile(plan_path, run_dir / "plan.yaml")
    dump_yaml(sc.model_dump(mode="json"), run_dir / "scenario.yaml")
    server: SimProcess | None = None
    kernel_env: dict[str, str] = {}
    if not target_url:
        server = embedded_simulator(plan, sc, compress)
        target_url = server.url
        # the kernels read the admin token by name, as on launch day: the simulator's, whatever the env holds
        kernel_env[DEFAULT_TOKEN_ENV] = server.config.admin_token
    m = Manifest(
        run_id=run_dir.name,
        scenario=sc.name,
        target=target_url,
        plan_hash=plan.digest(),
        compress=compress,
        started=time.time(),
        pid=os.getpid(),
        host=socket.gethostname(),
    )
    write_manifest(run_dir, m)
    _header(console, m, sc, plan, run_dir, embedded=server is not None, docker_project=docker_project)
    params = PhaseParams(
        run_dir=str(run_dir),
        plan_path=str(run_dir / "plan.yaml"),
        target_url=target_url,
        scenario=str(run_dir / "scenario.yaml"),
        compress=compress,
        signoffs=signoffs,
        external_monitor=True,
        docker_project=docker_project,
    )
    r = _Rehearsal(plan, sc, run_dir, params, notebooks, console)
    pool = KernelPool(str(run_dir), kernel_env)
    alive = (lambda: server.alive) if server is not None else None
    sup = Supervisor(run_dir, plan, compress, pool, console, server_alive=alive)
    faults = _injector(stack, sc, run_dir, compress) if stack else None
    if faults is not None:
        sup.injector_error = lambda: faults.error
    monitor: Monitor | None = None
    announcer: FiringAnnouncer | None = None
    results: dict[str, PhaseResult] = {}
    rolled_back = stopped = False
    n_all = len(r.phases)
    try:
        with sup.signals():
            sup.start()
            if faults is not None:
                faults.start()  # acts on the launch clock, from the deploy on
            for n, phase in enumerate(r.phases, 1):
                kind = phase_kind(plan, phase)
                if stopped or (rolled_back and kind in (PhaseKind.WATCH, PhaseKind.SUCCESS)):
                    why = "stopped at the go/no-go gate" if stopped else "launch rolled back"
                    m.phases.append(_entry(phase, None, PhaseStatus.SKIPPED.value, why))
                    console.line(f"[{n:2d}/{n_all}] {phase:6s} skipped ({why})")
                    continue
                if kind is PhaseKind.DEPLOY and monitor is None:
                    monitor = Monitor(plan, Target(target_url), run_dir, compress=compress)
                    monitor.on_firing = announcer = FiringAnnouncer(plan, run_dir, compress)
                    monitor.start()
                    sup.watch(monitor)
                if kind is PhaseKind.REVIEW and monitor is not None:  # the launch watch is over
                    sup.watch(None)
                    monitor.stop()
                sup.begin(phase, rollback=kind is PhaseKind.REVIEW)
                res = r.run(phase, f"[{n:2d}/{n_all}]", pool, m, sup)
                if sup.stop_reason:
                    break
                if res is not None:
                    results[phase] = res
                if kind is PhaseKind.GATE:
                    m.gate = res.gate if res else None
                    if res is None or res.status is PhaseStatus.FAILED:
                        stopped, m.outcome = True, "no-go"
                decision = sup.decision or rollback_decision(run_dir)  # the file if the phase was quicker
                if decision is not None and not rolled_back and kind is not PhaseKind.REVIEW:
                    sup.announce(decision)  # the phase may have ended before the supervisor looked
                    m.decisions = [decision]
                    sup.begin(ROLLBACK, rollback=True)
                    rb = r.run(ROLLBACK, "[ rollback]", pool, m, sup)
                    m.rollback, rolled_back = (rb.rollback if rb else None), True
                    if sup.stop_reason:
                        break
            if sup.stop_reason:
                m.outcome = sup.stop_reason if sup.failure is None else f"error: {sup.failure}"
                m.error = ErrorRecord(phase=sup.phase, message=sup.stop_reason)
            elif m.outcome == "running":
                passed = all(x.status is PhaseStatus.PASSED for x in results.values())
                m.outcome = (
                    "rolled back" if rolled_back else ("launched" if passed else "launched with findings")
                )
    except RunBroken as exc:
        m.outcome, m.error = f"error: {exc}", ErrorRecord(phase=exc.phase, cell=exc.cell, message=str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once, still in a known state
        m.outcome = f"interrupted by a second Ctrl-C during {sup.phase or 'setup'}"
        m.error = ErrorRecord(phase=sup.phase, message=m.outcome)
    except Exception as exc:  # a defect of launchlib itself: the run says so, then the traceback
        m.outcome = f"error: {type(exc).__name__}: {exc}"
        m.error = ErrorRecord(phase=sup.phase, message=m.outcome)
        raise
    finally:
        for part, stop in (
            ("supervisor", sup.stop),
            ("container faults", faults.stop if faults is not None else None),
            ("docker client", stack.close if stack is not None else None),
            ("monitor", monitor.stop if monitor is not None else None),
            ("webhook deliveries", announcer.close if announcer is not None else None),
            ("simulator", server.stop if server is not None else None),
            ("kernels", pool.close),
        ):
            if stop is None:
                continue
            try:  # one part failing to stop must not keep the others running or the run unrecorded
                stop()
            except Exception as exc:
                console.line(f"warning: the {part} did not stop cleanly: {type(exc).__name__}: {exc}")
        _finish(run_dir, reports, plan, sc, m, console)
    return run_dir, m


def _stack(plan: Plan, target_url: str, project: str) -> DockerDeployer:
    """The runner's own client of the compose project (the fault injector's); unreachable: broken."""
    from launchlib.backends.docker import DockerDeployer  # heavy and optional: the docker SDK

    rel = plan.releases
    try:
        return DockerDeployer(Target(target_url), project, previous=rel.previous, candidate=rel.candidate)
    except TargetError as exc:
        raise RunBroken(f"--docker-project {project}: {exc}") from None


def _injector(stack: DockerDeployer, sc: Scenario, run_dir: Path, compress: float) -> ContainerFaults:
    from launchlib.backends.container_faults import ContainerFaults  # heavy and optional: the docker SDK

    return ContainerFaults(stack, sc.container_faults(), run_dir, compress)


def _header(
    console: Console,
    m: Manifest,
    sc: Scenario,
    plan: Plan,
    run_dir: Path,
    embedded: bool,
    docker_project: str = "",
) -> None:
    rel = plan.releases
    where = f"embedded simulator {m.target}" if embedded else m.target
    console.line(f"launchlib rehearse · run {m.run_id}")
    about = " ".join(sc.description.split())
    console.line(f"  scenario   {sc.name}: {about if len(about) < 100 else about[:99] + '…'}")
    console.line(f"  target     {where} ({rel.previous} → {rel.candidate})")
    if docker_project:
        faults = sc.container_faults()
        acts = ", ".join(
            f"{f.kind.value} ({f.service or f.binding.value}) at {clock(f.start_s)}" for f in faults
        )
        console.line(f"  stack      docker project {docker_project}; faults: {acts or 'none'}")
    console.line(f"  clock      {m.compress:g}× (T+1h takes {3600 / m.compress / 60:.1f} real minutes)")
    note = compression_note(plan, sc, m.compress)
    if note:
        console.line(f"  note       {note}")
    console.line(f"  run folder {run_dir}")


def _finish(run_dir: Path, reports: Path, plan: Plan, sc: Scenario, m: Manifest, console: Console) -> None:
    """HTML, decisions, scorecard, manifest, report, index: last, so they never delay a rollback.

    A phase page that cannot be rendered is said on the console and loses nothing else: the
    executed notebook, the manifest and the report are still written. SIGINT or SIGTERM here
    skips the pages not yet rendered (said), and the run is still recorded and reported."""
    stop: list[str] = []
    with catch_signals(stop.append):
        _render_pages(run_dir, m, console, stop)
        _conclude(run_dir, reports, plan, sc, m, console)


def _render_pages(run_dir: Path, m: Manifest, console: Console, stop: list[str]) -> None:
    for entry in m.phases:
        if stop and entry.html:
            entry.html = None
            console.line(f"warning: {entry.phase}.html not written: {stop[0]} during the HTML export")
        elif entry.notebook and (run_dir / entry.notebook).exists():
            try:
                render_html(run_dir / entry.notebook, run_dir / f"{entry.phase}.html")
            except Exception as exc:  # nbconvert raises many types (templates, notebook shape)
                entry.html = None
                console.line(f"warning: {entry.phase}.html not written: {type(exc).__name__}: {exc}"[:300])


def _conclude(run_dir: Path, reports: Path, plan: Plan, sc: Scenario, m: Manifest, console: Console) -> None:
    """Decisions, scorecard, manifest, report and index, then the summary on the console."""
    m.decisions = read_decisions(run_dir)
    m.finished = time.time()
    gate_go = None if m.gate is None else m.gate.go
    review = plan.phases[-1].id
    failed = [p.phase for p in m.phases if p.status == "failed" and p.phase != review]
    card = score(run_dir, plan, sc, m.compress, gate_go, failed_phases=failed)
    if m.outcome.startswith(("error", "interrupted")):
        card = not_scored(card, m.outcome)
    m.scorecard = card
    write_manifest(run_dir, m)
    try:
        _, problems = write_report(run_dir, m)
    except Exception as exc:  # the run is recorded (manifest above); a report defect must say so, not hide it
        problems = [f"report.html not written: {type(exc).__name__}: {exc}"]
    for p in problems:
        console.line(f"warning: {p}"[:300])
    write_index(reports)
    for text in describe(card):
        console.line(text)
    console.line(f"outcome: {m.outcome}")
    console.line(f"report: {run_dir / 'report.html'}")
