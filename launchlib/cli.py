"""The ``launchlib`` command: a thin skin over the library, one call per command.

Every :class:`~launchlib.errors.LaunchError` becomes one line per problem on stderr and
exit code 2; nothing here holds logic a test could not reach through the library.
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

from launchlib.errors import LaunchError

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
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="launchlib")
def main() -> None:
    """Rehearse, run and analyse a production launch from its war-room plan."""


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
@click.option("--port", type=int, default=8700, show_default=True)
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


if __name__ == "__main__":  # pragma: no cover
    main()
