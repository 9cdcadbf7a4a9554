"""Who may sign what, and headless sign-off from parameter files and the CLI.

Rules (enforced here, whatever the front end — widget, CLI, parameters file):
only the role that owns an item, or the Launch Commander, may sign it (unowned and
``all_teams`` items: any role of the plan); an item with an automated ``check`` is marked
done by its check, never by hand — a person may waive it with a reason or block it; a waiver
always carries a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from launchlib.errors import LedgerError, PlanError, Problem
from launchlib.plan.model import ALL_TEAMS, Item, Plan
from launchlib.plan.yamlfile import line_for, load_yaml, problems_from_validation
from launchlib.signoff.ledger import Event, Ledger, SignState, Source

__all__ = [
    "AUTOMATION",
    "COMMANDER",
    "SignoffEntry",
    "apply_signoffs",
    "find_item",
    "load_signoffs",
    "record_check",
    "sign",
]

COMMANDER = "launch_commander"
AUTOMATION = "launchlib"


def find_item(plan: Plan, phase: str, item: str) -> Item:
    """The item ``item`` of phase ``phase``; LedgerError names the known ones."""
    try:
        ph = plan.phase(phase)
    except KeyError as exc:
        raise LedgerError(str(exc.args[0])) from None
    for it in ph.items:
        if it.id == item:
            return it
    raise LedgerError(f"no item {item!r} in phase {phase} (known: {', '.join(i.id for i in ph.items)})")


def _authorize(plan: Plan, phase: str, item: Item, role: str) -> str:
    found = plan.resolve_role(role)
    if found is None:
        raise LedgerError(
            f"refused: {role!r} is not a role of the plan (known: {', '.join(r.id for r in plan.roles)})"
        )
    if item.owner not in (None, ALL_TEAMS) and found.id not in (item.owner, COMMANDER):
        raise LedgerError(
            f"refused: {phase}/{item.id} is owned by {item.owner}; {found.id} may not sign it"
            f" (only {item.owner} or {COMMANDER})"
        )
    return found.id


def sign(
    ledger: Ledger,
    plan: Plan,
    phase: str,
    item: str,
    *,
    role: str,
    person: str,
    state: SignState | str = SignState.DONE,
    comment: str = "",
) -> Event:
    """Record a person's sign-off after checking the rules above; refusals raise LedgerError."""
    it = find_item(plan, phase, item)
    role_id = _authorize(plan, phase, it, role)
    state = SignState(state)
    if not person.strip():
        raise LedgerError(f"refused: {phase}/{item}: the person signing must be named")
    if state is SignState.WAIVED and not comment.strip():
        raise LedgerError(f"refused: {phase}/{item}: a waiver needs a reason")
    if state is SignState.DONE and it.check is not None:
        raise LedgerError(
            f"refused: {phase}/{item} is verified by the automated check {it.check!r};"
            " it cannot be ticked by hand (waive it with a reason instead)"
        )
    return ledger.append(phase, it.id, role=role_id, person=person.strip(), state=state, comment=comment)


def record_check(ledger: Ledger, phase: str, item: str, passed: bool, detail: str = "") -> Event:
    """Record an automated check's result for an item (done when it passed, else blocked)."""
    state = SignState.DONE if passed else SignState.BLOCKED
    return ledger.append(
        phase, item, role=AUTOMATION, person=AUTOMATION, state=state, source=Source.CHECK, comment=detail
    )


class SignoffEntry(BaseModel):
    """One line of a sign-off file: ``PHASE/item``, optionally waived with a reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    waive: str | None = None
    comment: str = ""
    by: str | None = None

    @property
    def phase(self) -> str:
        return self.item.split("/", 1)[0]

    @property
    def item_id(self) -> str:
        return self.item.split("/", 1)[-1]


class _SignoffFile(RootModel[dict[str, list[str | SignoffEntry]]]):
    pass


def load_signoffs(path: Path | str, plan: Plan) -> dict[str, list[SignoffEntry]]:
    """Read ``parameters/signoffs/<name>.yaml`` (role → items) and check it against the plan."""
    path = Path(path)
    if not path.exists():
        raise PlanError([Problem(str(path), "", "sign-off file not found")])
    data, lines = load_yaml(path)
    if isinstance(data, dict):  # the answer to proposed rollbacks: read by load_headless_answer
        data = {k: v for k, v in data.items() if k != "decisions"}
    try:
        raw = _SignoffFile.model_validate(data).root
    except ValidationError as exc:
        raise PlanError(problems_from_validation(exc, str(path), lines)) from None
    problems: list[Problem] = []
    out: dict[str, list[SignoffEntry]] = {}
    for role, entries in raw.items():
        if plan.resolve_role(role) is None:
            problems.append(Problem(str(path), role, "not a role of the plan", line_for(lines, (role,))))
            continue
        parsed = [SignoffEntry(item=e) if isinstance(e, str) else e for e in entries]
        for n, e in enumerate(parsed):
            try:
                it = find_item(plan, e.phase, e.item_id)
                _authorize(plan, e.phase, it, role)
                if it.check is not None and e.waive is None:
                    raise LedgerError(
                        f"{e.item} has the automated check {it.check!r}: only a waiver fits here"
                    )
            except LedgerError as exc:
                problems.append(Problem(str(path), f"{role}[{n}]", str(exc), line_for(lines, (role, n))))
        out[role] = parsed
    if problems:
        raise PlanError(problems)
    return out


def apply_signoffs(
    ledger: Ledger,
    plan: Plan,
    signoffs: dict[str, list[SignoffEntry]],
    phase: str,
    skip: Iterable[str] = (),
) -> list[Event]:
    """Sign this phase's entries of a sign-off file; ``skip`` (``PHASE/item``) stays open."""
    skipped = set(skip)
    events = []
    for role, entries in signoffs.items():
        holder = plan.role(role)
        for e in entries:
            if e.phase != phase or e.item in skipped:
                continue
            state = SignState.WAIVED if e.waive is not None else SignState.DONE
            events.append(
                sign(
                    ledger,
                    plan,
                    e.phase,
                    e.item_id,
                    role=holder.id,
                    person=e.by or holder.name,
                    state=state,
                    comment=e.waive or e.comment,
                )
            )
    return events
