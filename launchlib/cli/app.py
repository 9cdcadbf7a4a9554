"""The ``launchlib`` command: a thin skin over the library, one call per command.

Every :class:`~launchlib.errors.LaunchError` becomes one line per problem on stderr and its
exit code (2 bad input, 3 the run broke); nothing here holds logic a test could not reach
through the library. Paths given on the command line are made absolute here, at the entry.
Each command imports its implementation when it runs, so that ``launchlib --help`` and
``plan validate`` never load pandas, papermill or plotly.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from launchlib.errors import LaunchError

__all__ = [
    "EXIT_CODES",
    "dry_run_command",
    "main",
    "plan_option",
    "reports_errors",
    "reports_option",
    "source_options",
]

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


#: ``--reports``: the folder of run folders, as every command that reads or writes runs names it
reports_option = click.option(
    "--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
#: ``--plan``: the plan file, the project's by default
plan_option = click.option(
    "--plan", "plan_path", type=click.Path(path_type=Path), default=Path("parameters/plan.yaml")
)


def source_options(fn: F) -> F:
    """``--source`` and ``--prometheus``: what the triggers judge, and which Prometheus."""
    fn = click.option(
        "--prometheus",
        "prometheus_url",
        default="",
        help="a Prometheus URL: the judge with --source prometheus (a rehearsal starts its own if none)",
    )(fn)
    return click.option(
        "--source",
        type=click.Choice(["samples", "prometheus"]),
        default="samples",
        show_default=True,
        help="what the rollback triggers judge: the kit's probe samples, or Prometheus's telemetry",
    )(fn)


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


def dry_run_command(**kw: Any) -> None:
    from launchlib.runner.dryrun import dry_run  # lazy: loaded when this command runs

    problems = dry_run(**kw)
    for p in problems:
        click.echo(f"error: {p}", err=True)
    if problems:
        sys.exit(2)
    click.echo("dry run: plan, scenario, sign-offs, notebook parameters, target and environment are ready")
