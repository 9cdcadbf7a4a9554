"""``launchlib plan …`` and ``launchlib replay``: the plan file and recorded samples."""

from __future__ import annotations

from pathlib import Path

import click

from launchlib.cli.app import main, plan_option, reports_errors


@main.group()
def plan() -> None:
    """Validate, show, import and export the war-room plan."""


@plan.command("validate")
@click.argument("path", default="parameters/plan.yaml", type=click.Path(path_type=Path))
@reports_errors
def plan_validate(path: Path) -> None:
    """Check a plan file; exit 2 with one line per problem."""
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs

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
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs
    from launchlib.plan.timeline import render_timeline  # lazy: loaded when this command runs

    click.echo(render_timeline(load_plan(path)))


@plan.command("import")
@click.argument("markdown", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@reports_errors
def plan_import(markdown: Path, output: Path) -> None:
    """Read a Markdown war-room plan (the seed's format) into a YAML plan."""
    from launchlib.plan.files import check_plan, save_plan  # lazy: loaded when this command runs
    from launchlib.plan.md_import import import_markdown  # lazy: loaded when this command runs

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
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs
    from launchlib.plan.md_export import export_markdown  # lazy: loaded when this command runs

    text = export_markdown(load_plan(path))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: written")


@main.command("replay")
@click.argument("samples", type=click.Path(path_type=Path), required=False)
@click.option("--deploy-at", default=None, help="deploy time: epoch seconds or ISO-8601 with offset")
@plan_option
@click.option("--events", type=click.Path(path_type=Path), default=None, help="JSON lines of {ts, event}")
@click.option("--until", default=None, help="evaluate up to this time (default: the last sample)")
@click.option("--prometheus", "prometheus_url", default="", help="re-judge from this Prometheus, not SAMPLES")
@click.option("--from", "start", default=None, help="with --prometheus: the deploy time (T-0) of the window")
@click.option("--to", "end", default=None, help="with --prometheus: the end of the window")
@click.option(
    "--baseline-s", type=click.FloatRange(min=1), default=600.0, show_default=True, help="with --prometheus"
)
@click.option(
    "--compress",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="with --prometheus: a rehearsal's launch seconds per real second",
)
@click.option("--json", "as_json", is_flag=True, help="print exactly one JSON object")
@reports_errors
def replay(
    samples: Path | None,
    deploy_at: str | None,
    plan_path: Path,
    events: Path | None,
    until: str | None,
    prometheus_url: str,
    start: str | None,
    end: str | None,
    baseline_s: float,
    compress: float,
    as_json: bool,
) -> None:
    """Judge recorded SAMPLES (or, with --prometheus, a past window of Prometheus's telemetry)
    with the plan's rollback triggers and success criteria."""
    from launchlib.errors import DataError, Problem  # lazy: loaded when this command runs
    from launchlib.evaluation.replay import render_replay, replay_file  # lazy: loaded when this command runs
    from launchlib.evaluation.sources import read_events  # lazy: loaded when this command runs
    from launchlib.plan.files import load_plan  # lazy: loaded when this command runs

    plan = load_plan(plan_path)
    if prometheus_url:
        from launchlib.evaluation.prometheus_success import replay_prometheus  # lazy: --prometheus only

        missing = [
            Problem(o, "", "needed with --prometheus")
            for o, v in (("--from", start), ("--to", end))
            if v is None
        ]
        if missing or samples is not None:
            raise DataError(missing or [Problem(str(samples), "", "give SAMPLES or --prometheus, not both")])
        evs = read_events(events) if events is not None else []
        result = replay_prometheus(plan, prometheus_url, str(start), str(end), evs, baseline_s, compress)
    else:
        missing = [
            Problem(o, "", "needed")
            for o, v in (("SAMPLES", samples), ("--deploy-at", deploy_at))
            if v is None
        ]
        if missing:
            raise DataError(missing)
        result = replay_file(plan, Path(str(samples)), str(deploy_at), events, until)
    click.echo(result.model_dump_json() if as_json else render_replay(result))
