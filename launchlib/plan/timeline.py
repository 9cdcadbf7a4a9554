"""Render the plan's timeline as text for people (``launchlib plan show``)."""

from __future__ import annotations

from launchlib.plan.model import ALL_TEAMS, Plan

__all__ = ["render_timeline"]


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
