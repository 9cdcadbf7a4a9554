"""``launchlib rehearse``, ``run-phase``, ``monitor``, ``runs repair``, ``sim serve``: running a launch."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from launchlib.cli.app import (
    EXIT_CODES,
    dry_run_command,
    main,
    plan_option,
    reports_errors,
    reports_option,
    source_options,
)
from launchlib.errors import PlanError, RunBroken, RunError


@main.command("rehearse", epilog=EXIT_CODES)
@click.option(
    "--scenario",
    default=None,
    help="a scenario under parameters/scenarios [default: latency-spike]; with --all a glob of them",
)
@click.option(
    "--all", "every", is_flag=True, help="rehearse every scenario (or --scenario's glob), one by one"
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="with --all: rehearse each K times",
)
@click.option("--run-id", default=None, help="default: <scenario>-<timestamp>")
@reports_option
@click.option(
    "--target", "target_url", default="", help="a target base URL (default: the embedded simulator)"
)
@click.option(
    "--compress",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="launch seconds per real second",
)
@plan_option
@click.option(
    "--signoffs", type=click.Path(path_type=Path), default=Path("parameters/signoffs/rehearsal.yaml")
)
@click.option(
    "--docker-project",
    default="",
    help="rehearse a compose stack (with --target): deploy, roll back and act container faults"
    " through the Docker Engine (DOCKER_HOST)",
)
@click.option("--dry-run", is_flag=True, help="check everything the rehearsal needs, run nothing")
@click.option("--warroom", is_flag=True, help="serve the live war-room page beside it; prints its URL")
@click.option("--warroom-port", type=click.IntRange(1, 65535), default=8867, show_default=True)
@click.option(
    "--database-url-env",
    default="",
    help="env variable with a PostgreSQL URL: backed up at T-24h, restored by a database rollback",
)
@source_options
@reports_errors
def rehearse(
    scenario: str | None,
    every: bool,
    repeat: int,
    run_id: str | None,
    reports: Path,
    target_url: str,
    compress: float,
    plan_path: Path,
    signoffs: Path,
    docker_project: str,
    dry_run: bool,
    warroom: bool,
    warroom_port: int,
    database_url_env: str,
    source: str,
    prometheus_url: str,
) -> None:
    """Run a whole launch rehearsal, phase by phase; prints the report's path."""
    from launchlib.runner.console import Console  # lazy: loaded when this command runs
    from launchlib.runner.rehearse import exit_code  # lazy: loaded when this command runs
    from launchlib.runner.rehearse import rehearse as run  # lazy: loaded when this command runs

    common: dict[str, Any] = {
        "reports": reports.absolute(),
        "target_url": target_url,
        "compress": compress,
        "plan_path": plan_path,
        "signoffs": signoffs,
        "source": source,
        "prometheus_url": prometheus_url,
    }
    if every:
        _rehearse_all(scenario, repeat, run_id, dry_run, common)
        return
    scenario = scenario or "latency-spike"
    if dry_run:
        dry_run_command(
            scenario=scenario,
            run_id=run_id,
            docker_project=docker_project,
            database_url_env=database_url_env,
            **common,
        )
        return
    with contextlib.ExitStack() as parts:
        if warroom:
            run_id = run_id or f"{Path(scenario).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
            parts.enter_context(_war_room_beside(common["reports"] / run_id, warroom_port, compress))
        _, m = run(
            scenario,
            run_id=run_id,
            console=Console(),
            docker_project=docker_project,
            database_url_env=database_url_env,
            **common,
        )
    sys.exit(exit_code(m))


@contextlib.contextmanager
def _war_room_beside(run_dir: Path, port: int, compress: float) -> Iterator[None]:
    """The war-room page of the rehearsal about to start, stopped when it ends."""
    from launchlib.report.warroom_page import PageServer, plan_interval_s, tick_for  # lazy: --warroom only

    with PageServer(run_dir, port=port, tick_s=tick_for(plan_interval_s(), compress)) as page:
        click.echo(
            f"war room: {page.url} (live while the rehearsal runs; later: launchlib warroom {run_dir.name})"
        )
        yield
    click.echo("war room page stopped")


def _rehearse_all(
    pattern: str | None, repeat: int, run_id: str | None, dry_run: bool, common: dict[str, Any]
) -> None:
    from launchlib.runner.console import Console  # lazy: loaded when this command runs
    from launchlib.runner.matrix import (
        rehearse_all,
        scenarios_matching,
    )  # lazy: loaded when this command runs

    if run_id is not None:
        raise RunError("--run-id: not with --all (each rehearsal is named <scenario>-<stamp>)")
    if dry_run:
        for name in scenarios_matching(pattern):
            dry_run_command(scenario=name, **common)
        return
    matrix = rehearse_all(pattern, repeat=repeat, console=Console(), **common)
    missed = f"; missed: {', '.join(matrix.missed)}" if matrix.missed else ""
    click.echo(f"held: {len(matrix.table) - len(matrix.missed)} of {len(matrix.table)} scenarios{missed}")
    click.echo(f"fidelity table: {matrix.page}")
    sys.exit(matrix.exit_code)


@main.command("run-phase", epilog=EXIT_CODES)
@click.argument("phase")
@click.option("--run-id", required=True, help="the launch's run folder (created if new)")
@reports_option
@click.option(
    "--target", "target_url", default="", help="the target base URL (default: the embedded simulator)"
)
@click.option("--compress", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True)
@plan_option
@click.option(
    "--signoffs", default="", help="a sign-off file to apply (default: none, sign with the widgets/CLI)"
)
@click.option("--external-monitor", is_flag=True, help="a `launchlib monitor` is watching this run")
@click.option(
    "--database-url-env", default="", help="env variable with the PostgreSQL URL (backups, database rollback)"
)
@click.option(
    "--docker-project",
    default="",
    help="compose project on the Docker Engine (DOCKER_HOST) to deploy/roll back",
)
@click.option("--dry-run", is_flag=True, help="check everything the phase needs, run nothing")
@source_options
@reports_errors
def run_phase(
    phase: str,
    run_id: str,
    reports: Path,
    target_url: str,
    compress: float,
    plan_path: Path,
    signoffs: str,
    external_monitor: bool,
    database_url_env: str,
    docker_project: str,
    dry_run: bool,
    source: str,
    prometheus_url: str,
) -> None:
    """Run one phase notebook now (launch day), into the run's folder."""
    from launchlib.errors import EXIT_FINDINGS  # lazy: loaded when this command runs
    from launchlib.runner.execute import run_single  # lazy: loaded when this command runs

    reports, plan_path = reports.absolute(), plan_path.absolute()
    if dry_run:
        dry_run_command(
            phase=phase,
            run_id=run_id,
            reports=reports,
            target_url=target_url,
            compress=compress,
            plan_path=plan_path,
            signoffs=signoffs,
            database_url_env=database_url_env,
            must_be_new=False,
            source=source,
            prometheus_url=prometheus_url,
        )
        return
    res, html_path = run_single(
        phase,
        run_id=run_id,
        reports=reports,
        target_url=target_url,
        compress=compress,
        plan_path=plan_path,
        signoffs=str(Path(signoffs).absolute()) if signoffs else "",
        external_monitor=external_monitor,
        database_url_env=database_url_env,
        docker_project=docker_project,
        source=source,
        prometheus_url=prometheus_url,
    )
    click.echo(f"{phase}: {res.status.value} {res.reason}".rstrip())
    click.echo(f"report: {html_path}")
    if res.status.value not in ("passed", "rolled_back", "skipped"):
        sys.exit(EXIT_FINDINGS)


@main.group("runs")
def runs() -> None:
    """The run folders under reports/."""


@runs.command("repair")
@click.argument("run_ids", nargs=-1)
@reports_option
@reports_errors
def runs_repair(run_ids: tuple[str, ...], reports: Path) -> None:
    """Mark runs whose runner died (SIGKILL, power loss) as interrupted, and rebuild the index."""
    from launchlib.report.index import write_index  # lazy: loaded when this command runs
    from launchlib.report.repair import repair_run  # lazy: loaded when this command runs
    from launchlib.runfolder.folder import check_run_id  # lazy: loaded when this command runs

    reports = reports.absolute()
    folders = [reports / check_run_id(r) for r in run_ids] or sorted(
        p for p in (reports.iterdir() if reports.is_dir() else []) if p.is_dir()
    )
    fixed = [f.name for f in folders if repair_run(f) is not None]
    if reports.is_dir():
        write_index(reports)
    click.echo(f"marked interrupted: {', '.join(fixed)}" if fixed else "no stale run")


@main.command("monitor")
@click.option("--run-id", required=True)
@click.option("--target", "target_url", required=True, help="the target base URL")
@reports_option
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="requests per second in all",
)
@plan_option
@source_options
@reports_errors
def monitor(
    run_id: str,
    target_url: str,
    reports: Path,
    rate: float,
    plan_path: Path,
    source: str,
    prometheus_url: str,
) -> None:
    """Watch a target continuously from the baseline on, recording into the run folder."""
    from launchlib.launch.context import FiringAnnouncer  # lazy: loaded when this command runs
    from launchlib.launch.monitor import Monitor  # lazy: loaded when this command runs
    from launchlib.launch.telemetry import (
        monitor_source,
        source_problems,
    )  # lazy: loaded when this command runs
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs
    from launchlib.probing.target import Target  # lazy: loaded when this command runs
    from launchlib.runfolder.folder import check_run_id  # lazy: loaded when this command runs

    run_dir = reports.absolute() / check_run_id(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    plan = load_plan(plan_path)
    problems = source_problems(plan, str(plan_path), source, prometheus_url, own=False, embedded=False)
    if problems:
        raise PlanError(problems)
    judge = monitor_source(plan, source, prometheus_url)
    mon = Monitor(plan, Target(target_url), run_dir, rate=rate, source=judge)
    mon.claim()  # a second live monitor on the run is refused; a dead one's samples are continued
    mon.on_firing = announcer = FiringAnnouncer(plan, run_dir, 1.0)  # each firing to the war room
    mon.start()
    click.echo(f"monitoring {target_url} into {run_dir} (Ctrl-C to stop)")
    why: str | None = None
    answering = True
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or `kill` from a script that ran it with `&`
        signal.signal(sig, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        while why is None and not stop.wait(1.0):
            why = mon.health()
            live = mon.live()
            if answering and live.failure_ratio == 1.0:
                click.echo(
                    f"warning: {target_url} is not answering: every request in the last seconds failed"
                )
            elif not answering and live.failure_ratio is not None and live.failure_ratio < 1.0:
                click.echo(f"{target_url} answers again")
            answering = live.failure_ratio != 1.0
    mon.stop()
    announcer.close()
    if why is not None:
        raise RunBroken(f"{run_dir}: monitor stopped: {why}")


@main.group()
def sim() -> None:
    """The simulated trading system (rehearsal target)."""


@sim.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--scenario", default=None, help="inject this scenario's faults (armed at the deploy)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--restart-s", type=float, default=1.0, show_default=True, help="restart time of a deploy")
@click.option("--compress", type=float, default=1.0, show_default=True, help="launch seconds per second")
@click.option(
    "--release",
    default="",
    envvar="LAUNCHLIB_SIM_RELEASE",
    help="the release it runs at start (default: the previous one); a release-tagged image sets it",
)
@click.option(
    "--database-url",
    default="",
    envvar="LAUNCHLIB_SIM_DATABASE_URL",
    help="a PostgreSQL with positions and ledger tables: the integrity check asks it (a staging stack)",
)
@reports_errors
def sim_serve(
    port: int,
    host: str,
    scenario: str | None,
    seed: int,
    restart_s: float,
    compress: float,
    release: str,
    database_url: str,
) -> None:
    """Serve the simulator in the foreground until interrupted (SIGINT or SIGTERM)."""
    from launchlib.simulator.app import SimConfig  # lazy: loaded when this command runs
    from launchlib.simulator.scenarios import load_scenario  # lazy: loaded when this command runs
    from launchlib.simulator.server import SimServer  # lazy: loaded when this command runs

    faults = list(load_scenario(scenario).faults) if scenario else []
    cfg = SimConfig(seed=seed, restart_s=restart_s, compress=compress, database_url=database_url)
    if release and release not in (cfg.previous, cfg.candidate):
        msg = f"{release!r}: not {cfg.previous} or {cfg.candidate}"
        raise click.BadParameter(msg, param_hint="--release")
    server = SimServer(host, port, cfg, faults)
    server.state.release = release or server.state.release
    click.echo(
        f"simulator on {server.url} (release {server.state.release}); control API at {server.url}/_sim/state"
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@main.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--from", "from_markdown", type=click.Path(path_type=Path), default=None, help="a Markdown plan"
)
@reports_errors
def init(folder: Path, from_markdown: Path | None) -> None:
    """Lay out a launch project in FOLDER: plan, scenarios, sign-offs, notebooks, reports/."""
    from launchlib.runner.project import init_project  # lazy: loaded when this command runs

    for warning in init_project(folder, from_markdown):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{folder.absolute()}: launch project ready; cd there and run `launchlib rehearse`")


@main.command("analyse", epilog=EXIT_CODES)
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=Path("reports/analysis.html"), show_default=True
)
@reports_option
@reports_errors
def analyse_command(runs: tuple[str, ...], out: Path, reports: Path) -> None:
    """Post-launch analysis of RUNS (run folders, run ids under --reports, or globs) as one page."""
    from launchlib.runner.analyse import analyse  # lazy: loaded when this command runs

    page = analyse(list(runs), out, reports)
    click.echo(f"analysis: {page}")
