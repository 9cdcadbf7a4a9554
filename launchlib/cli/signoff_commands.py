"""``launchlib signoff …``: sign items of a run, its status, its checklist page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from launchlib.cli.app import main, plan_option, reports_errors, reports_option


class _SignoffGroup(click.Group):
    """``launchlib signoff RUN PHASE ITEM …`` signs; ``launchlib signoff status RUN`` reports."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            args = ["sign", *args]
        return super().resolve_command(ctx, args)


def _run_ledger(run_id: str, reports: Path, plan_path: Path) -> tuple[Any, Any]:
    """The run's plan and ledger; a run whose runner died is marked interrupted first."""
    from launchlib.report.repair import repair_run  # lazy: loaded when this command runs
    from launchlib.runfolder.folder import check_run_id  # lazy: loaded when this command runs
    from launchlib.signoff.ledger import open_run_ledger  # lazy: loaded when this command runs

    run_dir = reports.absolute() / check_run_id(run_id)
    repair_run(run_dir)
    return open_run_ledger(run_dir, plan_path.absolute())


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
@reports_option
@plan_option
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
    from launchlib.signoff.rules import sign  # lazy: loaded when this command runs

    plan, ledger = _run_ledger(run_id, reports, plan_path)
    state = "waived" if waive is not None else "blocked" if block else "open" if unsign else "done"
    ev = sign(ledger, plan, phase, item, role=role, person=person, state=state, comment=waive or comment)
    click.echo(f"#{ev.seq} {ev.ts} {ev.phase}/{ev.item} {ev.state} by {ev.person} ({ev.role})")


@signoff.command("status")
@click.argument("run_id")
@click.option("--phase", default=None, help="only this phase")
@reports_option
@plan_option
@reports_errors
def signoff_status(run_id: str, phase: str | None, reports: Path, plan_path: Path) -> None:
    """Print every item's state: who signed, when, the check result, and the gate."""
    from launchlib.signoff.gates import (
        go_no_go,
        item_statuses,
        render_status,
    )  # lazy: loaded when this command runs

    plan, ledger = _run_ledger(run_id, reports, plan_path)
    phases = [phase] if phase else [p.id for p in plan.phases]
    click.echo(render_status(item_statuses(plan, ledger.history(), phases), go_no_go(plan, ledger)))


@signoff.command("page")
@click.argument("run_id")
@click.option("--phase", "phases", multiple=True, help="a phase to show (repeat); default: go/no-go")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8866, show_default=True, help="port on 127.0.0.1"
)
@reports_option
@plan_option
@reports_errors
def signoff_page(run_id: str, phases: tuple[str, ...], port: int, reports: Path, plan_path: Path) -> None:
    """Serve the checklist of RUN_ID as a page without code (Voilà on 127.0.0.1)."""
    from launchlib.signoff.page import serve_page  # lazy: loaded when this command runs

    raise SystemExit(
        serve_page(reports / run_id, list(phases), port=port, plan_path=plan_path, echo=click.echo)
    )
