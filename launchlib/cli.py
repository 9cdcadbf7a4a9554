"""The ``launchlib`` command: a thin skin over the library, one call per command.

Every :class:`~launchlib.errors.LaunchError` becomes one line per problem on stderr and its
exit code (2 bad input, 3 the run broke); nothing here holds logic a test could not reach
through the library. Paths given on the command line are made absolute here, at the entry.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from launchlib.errors import LaunchError, RunBroken

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(fn: F) -> F:
    """Turn launchlib errors into clear lines on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LaunchError as exc:
            for line in exc.lines():
                click.echo(f"error: {line}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # a path the user gave cannot be read or written: bad input
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


EXIT_CODES = """\b
Exit codes:
  0  ran, and the scorecard matches the scenario's expectation (launch day: no finding)
  1  ran and found something: scorecard mismatch, NO-GO, a failed phase, rollback too late
  2  bad input (plan, scenario, parameters, run id, options): nothing was run
  3  the run itself broke: monitor stopped, notebook crashed, target unreachable, interrupted"""


@click.group(epilog=EXIT_CODES)
@click.version_option(package_name="launchlib")
def main() -> None:
    """Rehearse, run and analyse a production launch from its war-room plan."""


def _dry_run(**kw: Any) -> None:
    from launchlib.dryrun import dry_run

    problems = dry_run(**kw)
    for p in problems:
        click.echo(f"error: {p}", err=True)
    if problems:
        sys.exit(2)
    click.echo("dry run: plan, scenario, sign-offs, notebook parameters, target and environment are ready")


@main.group()
def plan() -> None:
    """Validate, show, import and export the war-room plan."""


@plan.command("validate")
@click.argument("path", default="parameters/plan.yaml", type=click.Path(path_type=Path))
@reports_errors
def plan_validate(path: Path) -> None:
    """Check a plan file; exit 2 with one line per problem."""
    from launchlib.planfile import load_plan

    p = load_plan(path)
    click.echo(
        f"{path}: valid plan, {len(p.phases)} phases, {p.checklist_count()} checklist items, "
        f"{sum(1 for _ in p.triggers())} rollback triggers"
    )


@plan.command("show")
@click.argument("path", default="parameters/plan.yaml", type=click.Path(path_type=Path))
@reports_errors
def plan_show(path: Path) -> None:
    """Print the launch timeline with owners and automated checks."""
    from launchlib.planfile import load_plan
    from launchlib.timeline import render_timeline

    click.echo(render_timeline(load_plan(path)))


@plan.command("import")
@click.argument("markdown", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@reports_errors
def plan_import(markdown: Path, output: Path) -> None:
    """Read a Markdown war-room plan (the seed's format) into a YAML plan."""
    from launchlib.markdown import import_markdown
    from launchlib.planfile import check_plan, save_plan

    result = import_markdown(markdown)
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    for loc, msg in check_plan(result.plan):
        click.echo(f"warning: {markdown}: {'.'.join(map(str, loc))}: {msg}", err=True)
    save_plan(result.plan, output, header=f"# Imported from {markdown.name} by launchlib\n")
    click.echo(
        f"{output}: {result.plan.checklist_count()} checklist items in {len(result.plan.phases)} phases"
    )


@plan.command("export")
@click.argument("path", default="parameters/plan.yaml", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None)
@reports_errors
def plan_export(path: Path, output: Path | None) -> None:
    """Write a YAML plan back as Markdown (stdout unless -o)."""
    from launchlib.mdexport import export_markdown
    from launchlib.planfile import load_plan

    text = export_markdown(load_plan(path))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: written")


@main.command("replay")
@click.argument("samples", type=click.Path(path_type=Path))
@click.option("--deploy-at", required=True, help="deploy time: epoch seconds or ISO-8601 with offset")
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@click.option("--events", type=click.Path(path_type=Path), default=None, help="JSON lines of {ts, event}")
@click.option("--until", default=None, help="evaluate up to this time (default: the last sample)")
@click.option("--json", "as_json", is_flag=True, help="print exactly one JSON object")
@reports_errors
def replay(
    samples: Path, deploy_at: str, plan_path: Path, events: Path | None, until: str | None, as_json: bool
) -> None:
    """Judge recorded samples with the plan's rollback triggers and success criteria."""
    from launchlib.planfile import load_plan
    from launchlib.replay import render_replay, replay_file

    result = replay_file(load_plan(plan_path), samples, deploy_at, events, until)
    click.echo(json.dumps(result) if as_json else render_replay(result))


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
@reports_errors
def sim_serve(
    port: int, host: str, scenario: str | None, seed: int, restart_s: float, compress: float
) -> None:
    """Serve the simulator in the foreground until interrupted."""
    from launchlib.faults import load_scenario
    from launchlib.sim import SimConfig
    from launchlib.simserver import SimServer

    faults = list(load_scenario(scenario).faults) if scenario else []
    server = SimServer(host, port, SimConfig(seed=seed, restart_s=restart_s, compress=compress), faults)
    click.echo(
        f"simulator on {server.url} (release {server.state.release}); control API at {server.url}/_sim/state"
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


class _SignoffGroup(click.Group):
    """``launchlib signoff RUN PHASE ITEM …`` signs; ``launchlib signoff status RUN`` reports."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            args = ["sign", *args]
        return super().resolve_command(ctx, args)


def _run_ledger(run_id: str, reports: Path, plan_path: Path) -> tuple[Any, Any]:
    from launchlib.archive import open_run_ledger

    return open_run_ledger(reports.absolute() / run_id, plan_path.absolute())


@main.group("signoff", cls=_SignoffGroup)
def signoff() -> None:
    """Sign checklist items of a run, or show their status."""


@signoff.command("sign")
@click.argument("run_id")
@click.argument("phase")
@click.argument("item")
@click.option("--role", required=True, help="your role id or title (only the owner or the Launch Commander)")
@click.option("--by", "person", required=True, help="your name")
@click.option("--waive", default=None, help="waive the item with this reason")
@click.option("--block", is_flag=True, help="mark the item blocked")
@click.option("--unsign", is_flag=True, help="withdraw an earlier sign-off (a new ledger event)")
@click.option("--comment", default="")
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@reports_errors
def signoff_sign(
    run_id: str,
    phase: str,
    item: str,
    role: str,
    person: str,
    waive: str | None,
    block: bool,
    unsign: bool,
    comment: str,
    reports: Path,
    plan_path: Path,
) -> None:
    """Sign ITEM of PHASE in run RUN_ID."""
    from launchlib.signoff import sign

    plan, ledger = _run_ledger(run_id, reports, plan_path)
    state = "waived" if waive is not None else "blocked" if block else "open" if unsign else "done"
    ev = sign(ledger, plan, phase, item, role=role, person=person, state=state, comment=waive or comment)
    click.echo(f"#{ev.seq} {ev.ts} {ev.phase}/{ev.item} {ev.state} by {ev.person} ({ev.role})")


@signoff.command("status")
@click.argument("run_id")
@click.option("--phase", default=None, help="only this phase")
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@reports_errors
def signoff_status(run_id: str, phase: str | None, reports: Path, plan_path: Path) -> None:
    """Print every item's state: who signed, when, the check result, and the gate."""
    from launchlib.gates import go_no_go, item_statuses, render_status

    plan, ledger = _run_ledger(run_id, reports, plan_path)
    phases = [phase] if phase else [p.id for p in plan.phases]
    click.echo(render_status(item_statuses(plan, ledger.history(), phases), go_no_go(plan, ledger)))


@signoff.command("page")
@click.argument("run_id")
@click.option("--phase", "phases", multiple=True, help="a phase to show (repeat); default: go/no-go")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8866, show_default=True, help="port on 127.0.0.1"
)
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@reports_errors
def signoff_page(run_id: str, phases: tuple[str, ...], port: int, reports: Path, plan_path: Path) -> None:
    """Serve the checklist of RUN_ID as a page without code (Voilà on 127.0.0.1)."""
    from launchlib.checklist_page import serve_page

    raise SystemExit(
        serve_page(reports / run_id, list(phases), port=port, plan_path=plan_path, echo=click.echo)
    )


@main.command("rehearse", epilog=EXIT_CODES)
@click.option(
    "--scenario", default="latency-spike", show_default=True, help="a scenario under parameters/scenarios"
)
@click.option("--run-id", default=None, help="default: <scenario>-<timestamp>")
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
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
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@click.option(
    "--signoffs", type=click.Path(path_type=Path), default=Path("parameters/signoffs/rehearsal.yaml")
)
@click.option("--dry-run", is_flag=True, help="check everything the rehearsal needs, run nothing")
@reports_errors
def rehearse(
    scenario: str,
    run_id: str | None,
    reports: Path,
    target_url: str,
    compress: float,
    plan_path: Path,
    signoffs: Path,
    dry_run: bool,
) -> None:
    """Run a whole launch rehearsal, phase by phase; prints the report's path."""
    from launchlib.console import Console
    from launchlib.runner import exit_code
    from launchlib.runner import rehearse as run

    reports = reports.absolute()
    if dry_run:
        _dry_run(
            scenario=scenario,
            run_id=run_id,
            reports=reports,
            target_url=target_url,
            compress=compress,
            plan_path=plan_path,
            signoffs=signoffs,
        )
        return
    _, m = run(
        scenario,
        run_id=run_id,
        reports=reports,
        target_url=target_url,
        compress=compress,
        plan_path=plan_path,
        signoffs=signoffs,
        console=Console(),
    )
    sys.exit(exit_code(m))


@main.command("run-phase", epilog=EXIT_CODES)
@click.argument("phase")
@click.option("--run-id", required=True, help="the launch's run folder (created if new)")
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option(
    "--target", "target_url", default="", help="the target base URL (default: the embedded simulator)"
)
@click.option("--compress", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
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
) -> None:
    """Run one phase notebook now (launch day), into the run's folder."""
    from launchlib.errors import EXIT_FINDINGS
    from launchlib.execute import run_single

    reports, plan_path = reports.absolute(), plan_path.absolute()
    if dry_run:
        _dry_run(
            phase=phase,
            run_id=run_id,
            reports=reports,
            target_url=target_url,
            compress=compress,
            plan_path=plan_path,
            signoffs=signoffs,
            database_url_env=database_url_env,
            must_be_new=False,
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
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@reports_errors
def runs_repair(run_ids: tuple[str, ...], reports: Path) -> None:
    """Mark runs whose runner died (SIGKILL, power loss) as interrupted, and rebuild the index."""
    from launchlib.archive import check_run_id, repair_run, write_index

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
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="requests per second in all",
)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml"))
@reports_errors
def monitor(run_id: str, target_url: str, reports: Path, rate: float, plan_path: Path) -> None:
    """Watch a target continuously from the baseline on, recording into the run folder."""
    import time

    from launchlib.archive import check_run_id
    from launchlib.monitor import Monitor
    from launchlib.planfile import load_plan
    from launchlib.target import Target

    run_dir = reports.absolute() / check_run_id(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    mon = Monitor(load_plan(plan_path), Target(target_url), run_dir, rate=rate)
    mon.claim()  # a second live monitor on the run is refused; a dead one's samples are continued
    mon.start()
    click.echo(f"monitoring {target_url} into {run_dir} (Ctrl-C to stop)")
    why: str | None = None
    answering = True
    with contextlib.suppress(KeyboardInterrupt):
        while why is None:
            time.sleep(1.0)
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
    if why is not None:
        raise RunBroken(f"{run_dir}: monitor stopped: {why}")


if __name__ == "__main__":  # pragma: no cover
    main()
