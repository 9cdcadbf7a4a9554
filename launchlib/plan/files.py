"""Load, validate and save the plan file (``parameters/plan.yaml``).

Schema errors come from pydantic; the cross-field rules a schema cannot express (owners
are known roles, phases in time order, ids unique, checks known) live here. Every problem
is reported as ``file:line: field.path: what is wrong``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from launchlib.errors import PlanError, Problem
from launchlib.plan.model import ALL_TEAMS, KNOWN_CHECKS, KNOWN_METRICS, Item, PhaseKind, Plan, Stage
from launchlib.plan.yamlfile import Lines, dump_yaml, line_for, load_yaml, problems_from_validation

__all__ = ["DEFAULT_PLAN", "check_plan", "load_plan", "plan_to_data", "save_plan"]

DEFAULT_PLAN = Path("parameters/plan.yaml")

Loc = tuple[str | int, ...]


def _items_problems(plan: Plan, items: list[Item], loc: Loc, roles: set[str]) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = []
    for item_id, n in Counter(i.id for i in items).items():
        if n > 1:
            idx = [i.id for i in items].index(item_id)
            out.append(((*loc, idx, "id"), f"duplicate item id {item_id!r}"))
    phases = {p.id for p in plan.phases}
    for i, item in enumerate(items):
        if item.owner is not None and item.owner not in roles:
            out.append(
                ((*loc, i, "owner"), f"unknown role {item.owner!r} (known: {', '.join(sorted(roles))})")
            )
        if item.check is not None and item.check not in KNOWN_CHECKS:
            out.append(((*loc, i, "check"), f"unknown check {item.check!r}"))
        if item.check == "metrics" and item.threshold is None:
            out.append(((*loc, i, "threshold"), "missing threshold for a 'metrics' check"))
        elif item.check == "metrics" and item.threshold and item.threshold.metric not in KNOWN_METRICS:
            out.append(
                (
                    (*loc, i, "threshold", "metric"),
                    f"unknown metric {item.threshold.metric!r} (measurable: {', '.join(KNOWN_METRICS)}); "
                    "drop the check to sign it by hand",
                )
            )
        if item.phase is not None and item.phase not in phases:
            out.append(((*loc, i, "phase"), f"unknown phase {item.phase!r}"))
    return out


def _kind_problems(plan: Plan) -> list[tuple[Loc, str]]:
    """The timeline's kinds make a launch: one deploy, gates and reviews where they belong."""
    out: list[tuple[Loc, str]] = []
    kinds = [p.kind for p in plan.phases]
    for i, ph in enumerate(plan.phases):
        if ph.kind is PhaseKind.ROLLBACK:
            out.append((("phases", i, "kind"), "rollback is its own notebook, not a phase of the timeline"))
        if ph.kind in (PhaseKind.PRELAUNCH, PhaseKind.GATE) and ph.stage is not Stage.PRE_LAUNCH:
            out.append((("phases", i, "kind"), f"{ph.kind.value} belongs to the pre-launch stage"))
    if kinds.count(PhaseKind.DEPLOY) != 1:
        out.append((("phases",), f"{kinds.count(PhaseKind.DEPLOY)} phases of kind deploy; a launch has one"))
    return out


def check_plan(plan: Plan) -> list[tuple[Loc, str]]:
    """Cross-field problems of a schema-valid plan, as (field location, message)."""
    out: list[tuple[Loc, str]] = []
    role_ids = [r.id for r in plan.roles]
    for rid, n in Counter(role_ids).items():
        if n > 1:
            out.append((("roles", role_ids.index(rid), "id"), f"duplicate role id {rid!r}"))
    roles = set(role_ids) | {ALL_TEAMS}

    seen: set[str] = set()
    for i, ph in enumerate(plan.phases):
        if ph.id in seen:
            out.append((("phases", i, "id"), f"duplicate phase {ph.id!r}"))
        seen.add(ph.id)
        if i and ph.offset_s <= plan.phases[i - 1].offset_s:
            prev = plan.phases[i - 1]
            out.append(
                (
                    ("phases", i, "offset_s"),
                    f"phase {ph.id} at {ph.offset_s}s is not after {prev.id} at {prev.offset_s}s",
                )
            )
        out += _items_problems(plan, ph.items, ("phases", i, "items"), roles)

    for sec, items in (
        (("rollback", "post_checks"), plan.rollback.post_checks),
        (("rollback", "communication"), plan.rollback.communication),
        (("success", "launch_criteria"), plan.success.launch_criteria),
        (("success", "performance_targets"), plan.success.performance_targets),
        (("success", "business_metrics"), plan.success.business_metrics),
        (("checklists", "pre_launch"), plan.checklists.pre_launch),
        (("checklists", "launch_day"), plan.checklists.launch_day),
        (("checklists", "post_launch"), plan.checklists.post_launch),
    ):
        out += _items_problems(plan, items, sec, roles)
    for i, step in enumerate(plan.incidents.procedure):
        out += _items_problems(plan, step.items, ("incidents", "procedure", i, "items"), roles)

    out += _kind_problems(plan)
    procedures = [p.id for p in plan.rollback.procedures]
    issue_types = {e.issue_type for e in plan.escalation}
    tiers = [t.id for t in plan.rollback.tiers]
    trig_ids: set[str] = set()
    classes = set(plan.monitoring.endpoint_classes.values())
    for ti, tier in enumerate(plan.rollback.tiers):
        if tiers.count(tier.id) > 1 and tiers.index(tier.id) != ti:
            out.append((("rollback", "tiers", ti, "id"), f"duplicate tier {tier.id.value!r}"))
        if tier.until_s < tier.from_s:
            out.append((("rollback", "tiers", ti, "until_s"), "tier ends before it starts"))
        for k, role in enumerate(tier.confirm_roles if tier.confirm else []):
            if plan.resolve_role(role) is None:
                out.append((("rollback", "tiers", ti, "confirm_roles", k), f"unknown role {role!r}"))
        for j, trig in enumerate(tier.triggers):
            loc: Loc = ("rollback", "tiers", ti, "triggers", j)
            if trig.id in trig_ids:
                out.append(((*loc, "id"), f"duplicate trigger id {trig.id!r}"))
            trig_ids.add(trig.id)
            unknown = [c for c in trig.condition.classes if c not in classes]
            if unknown:
                out.append(((*loc, "condition", "classes"), f"unknown endpoint class {unknown[0]!r}"))
            for k, proc in enumerate(trig.procedures):
                if proc not in procedures:
                    known = ", ".join(procedures) or "none"
                    out.append(((*loc, "procedures", k), f"unknown procedure {proc!r} (known: {known})"))
            if issue_types and trig.incident not in issue_types:
                out.append(
                    ((*loc, "incident"), f"{trig.incident!r} is no issue type of the escalation matrix")
                )
    for i, esc in enumerate(plan.escalation):
        if plan.resolve_role(esc.first_contact) is None:
            out.append((("escalation", i, "first_contact"), f"unknown role {esc.first_contact!r}"))
    return out


#: plans already validated, by the digest of their file's bytes: every run folder keeps its own copy
#: of the plan, and an analysis over a hundred runs of one plan validates it once (plans are frozen)
_VALIDATED: dict[bytes, Plan] = {}


def load_plan(path: Path | str = DEFAULT_PLAN) -> Plan:
    """Read and fully validate a plan file; raises :class:`PlanError` listing every problem."""
    path = Path(path)
    try:
        digest: bytes | None = hashlib.sha256(path.read_bytes()).digest()
    except OSError:  # load_yaml says what is wrong with the file
        digest = None
    if digest in _VALIDATED:
        return _VALIDATED[digest]
    plan = _validate(path)
    if digest is not None:
        if len(_VALIDATED) >= 64:
            _VALIDATED.clear()
        _VALIDATED[digest] = plan
    return plan


def _validate(path: Path) -> Plan:
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise PlanError([Problem(str(path), "", "expected a YAML mapping at the top level", 1)])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(problems_from_validation(exc, str(path), lines)) from None
    problems = check_plan(plan)
    if problems:
        raise PlanError([_problem(str(path), loc, msg, lines) for loc, msg in problems])
    return plan


def _problem(file: str, loc: Loc, msg: str, lines: Lines) -> Problem:
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else part)
    return Problem(file, field, msg, line_for(lines, loc))


def _strip_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_empty(v) for k, v in value.items() if v is not None and v != [] and v != ""}
    if isinstance(value, list):
        return [_strip_empty(v) for v in value]
    return value


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain data in file order, without empty fields."""
    data: dict[str, Any] = _strip_empty(plan.model_dump(mode="json"))
    return data


def save_plan(plan: Plan, path: Path | str, header: str = "") -> None:
    """Write a plan as YAML (the inverse of :func:`load_plan`)."""
    dump_yaml(plan_to_data(plan), path, header=header)
