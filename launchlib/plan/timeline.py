"""Render the plan's timeline as text for people (``launchlib plan show``)."""

from __future__ import annotations

from launchlib.plan.model import ALL_TEAMS, Plan

__all__ = ["phase_timeout_s", "render_timeline"]

LAST_PHASE_SPAN_S = 3600.0  # launch seconds: the span of the last phase and of the rollback


def phase_timeout_s(plan: Plan, phase: str, compress: float) -> float:
    """Real seconds ``phase`` may run: its plan's ``timeout_s`` (default three times its span on
    the launch clock) compressed, plus ``monitoring.phase_slack_s`` for work that takes real time.
    ``phase`` not in the plan (the rollback notebook) spans an hour."""
    ids = [p.id for p in plan.phases]
    if phase in ids:
        i = ids.index(phase)
        span = (
            plan.phases[i + 1].offset_s - plan.phases[i].offset_s if i + 1 < len(ids) else LAST_PHASE_SPAN_S
        )
        launch_s = plan.phases[i].timeout_s or 3 * span
    else:
        launch_s = 3 * LAST_PHASE_SPAN_S
    return launch_s / compress + plan.monitoring.phase_slack_s


def render_timeline(plan: Plan) -> str:
    """Phases in order with their offset, items, owner role and automated check."""
    md = plan.metadata
    out = [f"{md.title} — {md.system or md.subtitle}", ""]
    for ph in plan.phases:
        name = f" {ph.name}" if ph.name else ""
        out.append(f"{ph.id:>6}  ({ph.offset_s:+d} s){name}")
        for it in ph.items:
            owner = "All Teams" if it.owner == ALL_TEAMS else (plan.role(it.owner).title if it.owner else "-")
            check = f"[{it.check}]" if it.check else "[sign-off]"
            out.append(f"        - {it.text:<42} {owner:<18} {check}")
        out.append("")
    out.append("Rollback triggers")
    for tier, trig in plan.triggers():
        out.append(f"  {tier.id.value:<10} {trig.id:<26} {trig.condition.describe()}")
    return "\n".join(out)
