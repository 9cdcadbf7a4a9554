"""Commands for the war room while and after a launch runs: answer a proposed rollback, seal and
verify a run's record."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from launchlib.cli.app import main, plan_option, reports_errors, reports_option
from launchlib.errors import RunError

__all__ = ["run_folder_of"]


def run_folder_of(run: str, reports: Path) -> Path:
    """A run given as a folder path or as a run id under ``reports``."""
    from launchlib.runfolder.folder import check_run_id  # lazy: loaded when a command runs

    if Path(run).is_dir():
        return Path(run).absolute()
    folder = reports.absolute() / check_run_id(run)
    if not folder.is_dir():
        raise RunError(f"{run}: no run folder (a path, or a run id under {reports})")
    return folder


@main.command("seal")
@click.argument("run")
@click.option(
    "--notebooks",
    type=click.Path(path_type=Path),
    default=Path("notebooks"),
    show_default=True,
    help="the phase notebooks whose hashes the seal records",
)
@reports_option
@reports_errors
def seal_command(run: str, notebooks: Path, reports: Path) -> None:
    """Seal a finished RUN: SEAL.json (SHA-256 of every file) and a tarball; no appends after."""
    from launchlib.runfolder.seal import seal  # lazy: loaded when this command runs

    folder = run_folder_of(run, reports)
    bundle = seal(folder, notebooks if notebooks.is_dir() else None)
    click.echo(f"sealed: {folder}/SEAL.json")
    click.echo(f"bundle: {bundle}")


@main.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@reports_errors
def verify_command(bundle: Path) -> None:
    """Check a sealed BUNDLE (tarball or run folder): exit 1 naming each file changed, missing or added."""
    from launchlib.runfolder.seal import verify  # lazy: loaded when this command runs

    found = verify(bundle)
    for line in found.lines():
        click.echo(line)
    sys.exit(0 if found.intact else 1)


@main.command("decide")
@click.argument("run")
@click.option("--accept", "verdict", flag_value="accept", help="accept the proposed rollback: it starts now")
@click.option("--reject", "verdict", flag_value="reject", help="reject it: the launch goes on")
@click.option("--role", required=True, help="your role id or title (one the plan lets answer)")
@click.option("--by", "person", required=True, help="your name")
@click.option("--reason", default="", help="why, for the ledger and the report")
@reports_option
@plan_option
@reports_errors
def decide_command(
    run: str, verdict: str | None, role: str, person: str, reason: str, reports: Path, plan_path: Path
) -> None:
    """Answer the rollback RUN's monitor proposes on a tier the plan marks confirm."""
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs
    from launchlib.runfolder.clock import LaunchClock  # lazy: loaded when this command runs
    from launchlib.runfolder.files import RunFolder  # lazy: loaded when this command runs
    from launchlib.runfolder.folder import read_manifest  # lazy: loaded when this command runs
    from launchlib.signoff.answers import answer  # lazy: loaded when this command runs

    if verdict is None:
        raise RunError("--accept or --reject: say which")
    folder = RunFolder(run_folder_of(run, reports))
    plan = load_plan(folder.plan(plan_path.absolute()))
    compress = read_manifest(folder.path).compress if folder.manifest_file.exists() else 1.0
    ans = answer(
        folder.path, plan, accept=verdict == "accept", role=role, by=person, reason=reason, compress=compress
    )
    at = LaunchClock.of_run(folder.path, compress).at(ans.answered_at)
    click.echo(f"{ans.answer}ed proposal {ans.proposal} by {ans.by} ({ans.role}) at {at}: {ans.acted}")


@main.command("warroom")
@click.argument("run")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8867, show_default=True, help="port on 127.0.0.1"
)
@reports_option
@reports_errors
def warroom_command(run: str, port: int, reports: Path) -> None:
    """Serve RUN's war-room page (live while it runs, the report when it is over) until Ctrl-C."""
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs
    from launchlib.report.warroom_page import PageServer, tick_for  # lazy: loaded when this command runs
    from launchlib.runfolder.files import RunFolder  # lazy: loaded when this command runs
    from launchlib.runfolder.folder import read_manifest  # lazy: loaded when this command runs

    folder = run_folder_of(run, reports)
    m = read_manifest(folder)  # a folder that is no run is refused here, not in the page

    plan = load_plan(RunFolder(folder).plan(Path("parameters/plan.yaml").absolute()))
    with PageServer(folder, port=port, tick_s=tick_for(plan.monitoring.interval_s, m.compress)) as page:
        click.echo(f"war room for {folder.name}: {page.url} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            sys.exit(page.proc.wait())
