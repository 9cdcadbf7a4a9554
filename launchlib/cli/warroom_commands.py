"""Commands for the war room while and after a launch runs: seal and verify a run's record."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from launchlib.cli.app import main, reports_errors, reports_option
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
