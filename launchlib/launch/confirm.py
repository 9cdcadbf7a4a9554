"""The monitor's side of a human decision: on a ``confirm`` tier a rollback is proposed, not taken.

Immediate and fast tiers act at once, as before. When the engine decides a rollback on a tier the
plan marks ``confirm``, :class:`Confirmation` records a proposal (its causes, who may answer, the
deadline on the launch clock) and waits: an accepted proposal, or one nobody answered when the
plan's default is ``rollback``, becomes the decision at the moment of the answer; a rejected one
lets the launch go on, and its causes propose nothing again (a new trigger on the tier does, and a
more urgent tier still acts at once). The state is read back from ``decisions.jsonl`` when a monitor
restarts, so a proposal survives the monitor that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from launchlib.evaluation.triggers import Decision
from launchlib.plan.model import Plan
from launchlib.runfolder.events import append_jsonl
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.records import AnswerRecord, DecisionRecord, ProposalRecord, read_decisions
from launchlib.signoff.answers import answer_to, pending_proposal

__all__ = ["Confirmation"]

POLL_S = 0.25  # how often a waiting proposal's answer is looked for in the decision ledger


class Confirmation:
    """Turns the engine's rollback decisions into proposals on ``confirm`` tiers, and their answers
    (or their timeout) into the decision to act on."""

    def __init__(self, plan: Plan, run_dir: Path | str, compress: float = 1.0) -> None:
        self.plan, self.folder, self.compress = plan, RunFolder(run_dir), compress
        self.on_proposal: Callable[[ProposalRecord], None] | None = None  # e.g. a rehearsal's answerer
        self.on_answer: Callable[[AnswerRecord], None] | None = None
        self.open = pending_proposal(self.folder.path)
        self.settled: set[str] = set()  # causes of rejected proposals: they propose nothing again
        recs = read_decisions(self.folder.path)
        proposals = {r.id: r for r in recs if isinstance(r, ProposalRecord)}
        for r in recs:
            if isinstance(r, AnswerRecord) and r.acted == "proceed" and r.proposal in proposals:
                self.settled |= set(proposals[r.proposal].causes)
        self._looked = 0.0

    def resolve(self, d: Decision, now: float | None = None) -> DecisionRecord | None:
        """The rollback decision to act on now, given the engine's (``None``: not now, or rejected)."""
        now = time.time() if now is None else now
        if d.tier is None:
            return None
        tier = self.plan.tier(d.tier)
        if not tier.confirm:
            return DecisionRecord(**dict(d), recorded_at=now)
        if self.open is None:
            fresh = [f for f in d.triggers if f.id not in self.settled]
            if fresh:
                self._propose(d, now)
            return None
        if now - self._looked < POLL_S and now < self.open.deadline:
            return None
        self._looked = now
        found = answer_to(self.folder.path, self.open) or self._time_out(now)
        if found is None:
            return None
        proposal, self.open = self.open, None
        if self.on_answer is not None:
            self.on_answer(found)
        if found.acted == "proceed":
            self.settled |= set(proposal.causes)
            return None
        return DecisionRecord(
            **dict(d) | {"decided_at": found.answered_at},
            recorded_at=now,
            proposed_at=proposal.proposed_at,
            answer=found.answer,
        )

    def _propose(self, d: Decision, now: float) -> None:
        assert d.tier is not None
        tier = self.plan.tier(d.tier)
        n = sum(isinstance(r, ProposalRecord) for r in read_decisions(self.folder.path)) + 1
        self.open = ProposalRecord(
            id=f"{d.tier}-{n}",
            tier=d.tier,
            triggers=[f for f in d.triggers if f.id not in self.settled],
            proposed_at=now,
            deadline=now + tier.confirm_timeout_s / self.compress,
            roles=list(tier.confirm_roles),
            default=tier.confirm_default,
            recorded_at=now,
        )
        append_jsonl(self.folder.decisions_file, self.open.model_dump(mode="json"))
        if self.on_proposal is not None:
            self.on_proposal(self.open)

    def _time_out(self, now: float) -> AnswerRecord | None:
        """Nobody answered by the deadline: the plan's default acts, recorded as a timeout."""
        if self.open is None or now < self.open.deadline:
            return None
        rec = AnswerRecord(
            proposal=self.open.id,
            answer="timeout",
            acted=self.open.default,
            reason=f"no answer within the plan's confirm_timeout_s; its default ({self.open.default}) acts",
            answered_at=self.open.deadline,
            recorded_at=now,
        )
        append_jsonl(self.folder.decisions_file, rec.model_dump(mode="json"))
        return answer_to(self.folder.path, self.open)  # a person's answer that raced the timeout wins
