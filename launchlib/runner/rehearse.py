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

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launchlib.errors import (
    EXIT_BROKEN,
    EXIT_FINDINGS,
    EXIT_OK,
    PlanError,
    Problem,
    RunBroken,
    TargetError,
)
from launchlib.launch.params import PhaseParams, check_notebook_parameters
from launchlib.launch.rollback import PHASE as ROLLBACK
from launchlib.launch.telemetry import own_prometheus, source_problems
from launchlib.plan.files import load_plan
from launchlib.plan.locations import notebooks_folder, project_path
from launchlib.plan.model import Plan
from launchlib.plan.yamlfile import dump_yaml
from launchlib.probing.probes import check_health
from launchlib.probing.target import DEFAULT_TOKEN_ENV, Target
from launchlib.report.html import render_html
from launchlib.report.index import write_index
from launchlib.report.run_report import write_report
from launchlib.report.scorecard import compression_note, describe, not_scored, score
from launchlib.runfolder.clock import clock
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import Manifest, Outcome, create_run, write_manifest
from launchlib.runfolder.records import ErrorRecord, read_decisions
from launchlib.runner.console import Console
from launchlib.runner.dryrun import fault_problems, scenario_file
from launchlib.runner.kernels import KernelPool
from launchlib.runner.supervisor import Supervisor, catch_signals
from launchlib.runner.timeline import Timeline
from launchlib.signoff.answers import load_headless_answer
from launchlib.signoff.rules import load_signoffs
from launchlib.simulator.process import SimProcess, embedded_simulator
from launchlib.simulator.scenarios import Scenario, load_scenario

if TYPE_CHECKING:  # the docker SDK is loaded only for a compose project
    from launchlib.backends.container_faults import ContainerFaults
    from launchlib.backends.docker import DockerDeployer

__all__ = ["exit_code", "rehearse"]


def exit_code(m: Manifest) -> int:
    """0: ran and matched the scenario (launch day: no finding); 1: findings; 3: the run broke."""
    if m.kind.broken:
        return EXIT_BROKEN
    expected = m.scorecard.as_expected if m.scorecard else None
    if expected is not None:
        return EXIT_OK if expected else EXIT_FINDINGS
    return EXIT_OK if m.kind is Outcome.LAUNCHED else EXIT_FINDINGS


@dataclass
class _Setup:
    """What a rehearsal runs with, checked: every path absolute, the plan and scenario loaded."""

    plan: Plan
    sc: Scenario
    plan_path: str
    signoffs: str
    notebooks: Path
    reports: Path
    target_url: str
    docker_project: str
    source: str = "samples"
    prometheus_url: str = ""
    database_url_env: str = ""


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
    source: str = "samples",
    prometheus_url: str = "",
    database_url_env: str = "",
) -> tuple[Path, Manifest]:
    """Run a whole rehearsal; returns the run folder and its manifest (see the module doc).

    With ``docker_project`` the target is a compose stack (``target_url`` its URL): deploys and
    rollbacks go through the Docker Engine and the scenario's container faults are acted on it.

    Four steps: validate (bad input raises before anything is created), provision (the run
    folder and each part, registered for teardown as it starts), run the timeline, conclude
    (pages, scorecard, manifest, report, index). A run that breaks returns with outcome
    ``error: …``; what was recorded stays.

    With ``source="prometheus"`` the triggers judge Prometheus's telemetry of the target: the one at
    ``prometheus_url``, or (none given) one the kit starts scraping the target.
    ``database_url_env`` names the variable holding a real PostgreSQL's URL: backed up at T-24h,
    restored by a database rollback (empty: the simulator's books).
    """
    console = console or Console()
    setup = _validate(scenario, reports, target_url, plan_path, signoffs, notebooks, docker_project)
    problems = source_problems(
        setup.plan, setup.plan_path, source, prometheus_url, own=True, embedded=not target_url
    )
    if problems:
        raise PlanError(problems)
    if database_url_env and not os.environ.get(database_url_env):
        raise PlanError([Problem("--database-url-env", database_url_env, "is not set (a PostgreSQL URL)")])
    setup.source, setup.prometheus_url, setup.database_url_env = source, prometheus_url, database_url_env
    t: Timeline | None = None
    try:
        with contextlib.ExitStack() as parts:
            t = _provision(setup, run_id, compress, console, parts)
            _run_timeline(t)
    finally:
        if t is not None:
            _finish(t.run_dir, setup.reports, setup.plan, setup.sc, t.m, console)
    assert t is not None  # _provision returned, or its exception went up
    return t.run_dir, t.m


def _validate(
    scenario: str,
    reports: Path | str,
    target_url: str,
    plan_path: Path | str,
    signoffs: Path | str,
    notebooks: Path | None,
    docker_project: str,
) -> _Setup:
    """Everything checked before anything is made: plan, scenario, sign-offs, notebook
    parameters, the faults against the target, and the target itself."""
    reports, notebooks = Path(reports).absolute(), notebooks or notebooks_folder()
    plan_path, signoffs = project_path(str(plan_path)), project_path(str(signoffs))
    plan, sc = load_plan(plan_path), load_scenario(scenario, Path(project_path("parameters/scenarios")))
    if signoffs:
        load_signoffs(signoffs, plan)  # a bad sign-off file is bad input: refused before anything runs
        load_headless_answer(signoffs, plan)
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
    return _Setup(plan, sc, plan_path, signoffs, notebooks, reports, target_url, docker_project)


def _provision(
    setup: _Setup, run_id: str | None, compress: float, console: Console, parts: contextlib.ExitStack
) -> Timeline:
    """The run folder, then each part (simulator, kernels, watch, fault injector, supervisor),
    each registered with ``parts`` as it starts: they stop in reverse, the supervisor first."""
    plan, sc, target_url = setup.plan, setup.sc, setup.target_url
    stack = _stack(plan, target_url, setup.docker_project) if setup.docker_project else None
    if stack is not None:
        parts.callback(_stop_part, console, "docker client", stack.close)
    run_dir = create_run(setup.reports, run_id or f"{sc.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    folder = RunFolder(run_dir)
    shutil.copyfile(setup.plan_path, folder.plan_file)
    dump_yaml(sc.model_dump(mode="json"), folder.scenario_file)
    server: SimProcess | None = None
    kernel_env: dict[str, str] = {}
    if not target_url:
        server = embedded_simulator(plan, sc, compress)
        parts.callback(_stop_part, console, "simulator", server.stop)
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
    _header(console, m, sc, plan, run_dir, embedded=server is not None, docker_project=setup.docker_project)
    prometheus_url = _judge(setup, target_url, run_dir, console, parts)
    params = PhaseParams(
        run_dir=str(run_dir),
        plan_path=str(folder.plan_file),
        target_url=target_url,
        scenario=str(folder.scenario_file),
        compress=compress,
        signoffs=setup.signoffs,
        external_monitor=True,
        docker_project=setup.docker_project,
        source=setup.source,
        prometheus_url=prometheus_url,
        database_url_env=setup.database_url_env,
    )
    pool = KernelPool(str(run_dir), kernel_env)
    parts.callback(_stop_part, console, "kernels", pool.close)
    alive = (lambda: server.alive) if server is not None else None
    sup = Supervisor(run_dir, plan, compress, pool, console, server_alive=alive)
    t = Timeline(plan, run_dir, params, setup.notebooks, console, pool, sup, m)
    parts.callback(_stop_part, console, "monitor and webhook deliveries", t.stop_watch)
    if stack is not None:
        faults = _injector(stack, sc, run_dir, compress)
        sup.injector_error = lambda: faults.error
        faults.start()  # acts on the launch clock, from the deploy on
        parts.callback(_stop_part, console, "container faults", faults.stop)
    sup.start()
    parts.callback(_stop_part, console, "supervisor", sup.stop)
    return t


def _judge(
    setup: _Setup, target_url: str, run_dir: Path, console: Console, parts: contextlib.ExitStack
) -> str:
    """The Prometheus a ``--source prometheus`` run judges from: the one given, else the kit's own
    (started here, stopped with the other parts); said on the console."""
    url = setup.prometheus_url
    if setup.source != "prometheus":
        return url
    if not url:
        own = own_prometheus(setup.plan, target_url, run_dir)
        parts.callback(_stop_part, console, "prometheus", own.stop)
        url = own.url
    console.line(f"  judge      prometheus {url} (the plan's monitoring.prometheus queries)")
    return url


def _run_timeline(t: Timeline) -> None:
    """The timeline under the supervisor's signal handlers; whatever breaks, the outcome says so."""
    m, sup = t.m, t.sup
    try:
        with sup.signals():
            t.run_all()
    except RunBroken as exc:
        m.outcome, m.error = f"error: {exc}", ErrorRecord(phase=exc.phase, cell=exc.cell, message=str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once, still in a known state
        m.outcome = f"interrupted by a second Ctrl-C during {sup.phase or 'setup'}"
        m.error = ErrorRecord(phase=sup.phase, message=m.outcome)
    except Exception as exc:  # a defect of launchlib itself: the run says so, then the traceback
        m.outcome = f"error: {type(exc).__name__}: {exc}"
        m.error = ErrorRecord(phase=sup.phase, message=m.outcome)
        raise


def _stop_part(console: Console, part: str, stop: Callable[[], object]) -> None:
    """One part failing to stop must not keep the others running or the run unrecorded."""
    try:
        stop()
    except Exception as exc:
        console.line(f"warning: the {part} did not stop cleanly: {type(exc).__name__}: {exc}")


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
                render_html(run_dir / entry.notebook, RunFolder(run_dir).page(entry.phase))
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
    if m.kind in (Outcome.ERROR, Outcome.INTERRUPTED):
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
    console.line(f"report: {RunFolder(run_dir).report_file}")
