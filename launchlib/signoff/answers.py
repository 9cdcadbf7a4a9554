"""A person's answer to a proposed rollback: who may give it, by when, and where it is recorded.

On a tier the plan marks ``confirm`` (the controlled tier, "within 1 hour", is a judgement call)
the monitor records a :class:`~launchlib.runfolder.records.ProposalRecord` instead of deciding.
One of the plan's ``confirm_roles`` accepts or rejects it — from the war-room page, from
``launchlib decide`` in another terminal, or headlessly in a rehearsal from the sign-off file's
``decisions:`` entry — before its deadline; the answer, who, when and why is an
:class:`~launchlib.runfolder.records.AnswerRecord` line appended to ``decisions.jsonl``, the
run's append-only decision ledger. A wrong role, a late answer or no proposal is refused with
one line and nothing written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from launchlib.errors import PlanError, Problem, RunError
from launchlib.plan.model import Plan
from launchlib.plan.yamlfile import line_for, load_yaml, problems_from_validation
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import append_jsonl
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.records import AnswerRecord, DecisionRecord, ProposalRecord, read_decisions

__all__ = [
    "DECISIONS_KEY",
    "HeadlessAnswer",
    "answer",
    "answer_to",
    "load_headless_answer",
    "pending_proposal",
]

DECISIONS_KEY = "decisions"  # the sign-off file's entry for proposed rollbacks (not a role)


def answer_to(run_dir: Path | str, proposal: ProposalRecord) -> AnswerRecord | None:
    """The first answer recorded to ``proposal`` (a later one, from a race, does not count)."""
    return next(
        (r for r in read_decisions(run_dir) if isinstance(r, AnswerRecord) and r.proposal == proposal.id),
        None,
    )


def pending_proposal(run_dir: Path | str) -> ProposalRecord | None:
    """The proposal waiting for an answer: the newest one with no answer and no decision after it."""
    waiting: ProposalRecord | None = None
    for r in read_decisions(run_dir):
        if isinstance(r, ProposalRecord):
            waiting = r
        elif isinstance(r, AnswerRecord) and waiting is not None and r.proposal == waiting.id:
            waiting = None
        elif isinstance(r, DecisionRecord) and r.decision == "rollback":
            waiting = None  # a more urgent tier (or the answer) decided: nothing waits any more
    return waiting


def _roles_may_answer(plan: Plan, proposal: ProposalRecord, role: str) -> str:
    found = plan.resolve_role(role)
    if found is None:
        known = ", ".join(r.id for r in plan.roles)
        raise RunError(f"--role {role!r}: refused: not a role of the plan (known: {known})")
    allowed = [r.id for label in proposal.roles if (r := plan.resolve_role(label)) is not None]
    if found.id not in allowed:
        raise RunError(
            f"--role {found.id}: refused: only {', '.join(allowed)} may answer"
            f" a proposed {proposal.tier} rollback"
        )
    return found.id


def answer(
    run_dir: Path | str,
    plan: Plan,
    *,
    accept: bool,
    role: str,
    by: str,
    reason: str = "",
    compress: float = 1.0,
) -> AnswerRecord:
    """Accept or reject the pending proposal as ``by`` in ``role``; appended to the decision ledger."""
    folder = RunFolder(run_dir)
    proposal = pending_proposal(folder.path)
    if proposal is None:
        raise RunError(f"{folder.decisions_file}: no proposed rollback is waiting for an answer")
    role_id = _roles_may_answer(plan, proposal, role)
    if not by.strip():
        raise RunError("--by: your name is required: the ledger records who answered")
    now = time.time()
    if now > proposal.deadline:
        at = LaunchClock.of_run(folder.path, compress).at(proposal.deadline)
        raise RunError(
            f"{folder.decisions_file}: proposal {proposal.id} timed out at {at}; the plan's default"
            f" ({proposal.default}) acts"
        )
    rec = AnswerRecord(
        proposal=proposal.id,
        answer="accept" if accept else "reject",
        acted="rollback" if accept else "proceed",
        role=role_id,
        by=by.strip(),
        reason=reason,
        answered_at=now,
        recorded_at=now,
    )
    append_jsonl(folder.decisions_file, rec.model_dump(mode="json"))
    return rec


class HeadlessAnswer(BaseModel):
    """A rehearsal's answer to every proposed rollback (the sign-off file's ``decisions:``):
    ``accept``, ``reject``, or ``none`` to let the timeout act."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: Literal["accept", "reject", "none"]
    role: str = "launch_commander"
    by: str | None = None
    reason: str = ""


class _Entry(BaseModel):
    decisions: HeadlessAnswer


def load_headless_answer(path: Path | str, plan: Plan) -> HeadlessAnswer | None:
    """The sign-off file's ``decisions:`` entry (a word, or a mapping with role, by and reason)."""
    data, lines = load_yaml(Path(path))
    raw = data.get(DECISIONS_KEY) if isinstance(data, dict) else None
    if raw is None:
        return None
    try:
        found = _Entry.model_validate(
            {DECISIONS_KEY: {"answer": raw} if isinstance(raw, str) else raw}
        ).decisions
    except ValidationError as exc:
        raise PlanError(problems_from_validation(exc, str(path), lines)) from None
    role = plan.resolve_role(found.role)
    tiers = [t for t in plan.rollback.tiers if t.confirm]
    allowed = {r.id for t in tiers for label in t.confirm_roles if (r := plan.resolve_role(label))}
    if role is None or role.id not in allowed:
        where = line_for(lines, (DECISIONS_KEY, "role"))
        named = ", ".join(sorted(allowed)) or "no one: no tier asks for confirmation"
        said = f"{found.role!r} may not answer a proposed rollback (the plan names {named})"
        raise PlanError([Problem(str(path), f"{DECISIONS_KEY}.role", said, where)])
    return found
