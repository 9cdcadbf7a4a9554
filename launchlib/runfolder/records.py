"""Typed records: what crosses modules and lands in a run folder.

A trigger firing with its evidence, the rollback decision, the go/no-go gate, the rollback and
its verification, the scorecard and a broken run's error are pydantic models, checked when made
and when read back. ``decisions.jsonl`` lines carry their schema version ``v`` and a ``type``
(``firing`` or ``decision``); the manifest and each phase result carry theirs as ``version``.
Tiers are :class:`~launchlib.plan.model.Tier` values, never strings parsed again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    computed_field,
    model_validator,
)

from launchlib.errors import RunError
from launchlib.plan.model import Tier
from launchlib.runfolder.events import DECISIONS, read_jsonl

__all__ = [
    "RECORD_VERSION",
    "AnswerRecord",
    "CheckRecord",
    "Decision",
    "DecisionRecord",
    "DecisionsLine",
    "ErrorRecord",
    "Evidence",
    "Firing",
    "FiringRecord",
    "GateRecord",
    "ItemState",
    "Line",
    "ProposalRecord",
    "Record",
    "RollbackRecord",
    "Scorecard",
    "read_decisions",
    "rollback_decision",
    "wait_for_decision",
]

RECORD_VERSION = 1


class Record(BaseModel):
    """Base of every record: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Evidence(Record):
    """Why a trigger fired: the value against its threshold, over which window, on how much data.

    ``unit`` is the threshold's unit; for a degradation the measured p95 and the baseline it was
    compared with (its size and time span) come along, so the evidence reads on its own.
    """

    value: float
    op: str
    threshold: float | None
    window_start: float
    window_end: float
    samples: int
    first_true: float
    unit: str = ""
    measured_ms: float | None = None
    baseline_ms: float | None = None
    baseline_samples: int | None = None
    baseline_span_s: float | None = None
    min_change_ms: float | None = None
    query: str | None = None  # judged from Prometheus: the PromQL the value came from


class Firing(Record):
    """A trigger that fired: its tier, the wall time it fired and the evidence."""

    id: str
    tier: Tier
    first_at: float
    evidence: Evidence


class Decision(Record):
    """``rollback`` (with tier and time) or ``proceed``; the fired triggers in firing order."""

    decision: Literal["rollback", "proceed"]
    tier: Tier | None
    decided_at: float | None
    triggers: list[Firing]
    evaluated_until: float | None = Field(default=None, exclude=True)  # engine state, not recorded

    @property
    def causes(self) -> list[str]:
        return [f.id for f in self.triggers]


class FiringRecord(Firing):
    """A ``decisions.jsonl`` line: a firing as the monitor recorded it."""

    v: int = RECORD_VERSION
    type: Literal["firing"] = "firing"
    recorded_at: float
    after_decision: bool = False  # fired after the rollback decision: rollback noise, not a cause


class DecisionRecord(Decision):
    """A ``decisions.jsonl`` line: the rollback decision as the monitor recorded it (``answer``: the
    person's answer or the timeout that made a proposed rollback a decision)."""

    v: int = RECORD_VERSION
    type: Literal["decision"] = "decision"
    recorded_at: float
    proposed_at: float | None = None
    answer: str | None = None


class ProposalRecord(Record):
    """A ``decisions.jsonl`` line: a rollback the monitor proposes on a tier the plan marks ``confirm``;
    one of ``roles`` answers by wall time ``deadline``, else ``default`` acts."""

    v: int = RECORD_VERSION
    type: Literal["proposal"] = "proposal"
    id: str  # names the proposal its answer refers to
    tier: Tier
    triggers: list[Firing]
    proposed_at: float
    deadline: float
    roles: list[str]
    default: Literal["rollback", "proceed"]
    recorded_at: float

    @property
    def causes(self) -> list[str]:
        return [f.id for f in self.triggers]


class AnswerRecord(Record):
    """A ``decisions.jsonl`` line: the answer to a proposal — accepted or rejected by a person in a
    role (with why), or ``timeout``: nobody answered in time and the plan's default acted."""

    v: int = RECORD_VERSION
    type: Literal["answer"] = "answer"
    proposal: str
    answer: Literal["accept", "reject", "timeout"]
    acted: Literal["rollback", "proceed"]
    role: str | None = None
    by: str | None = None
    reason: str = ""
    answered_at: float
    recorded_at: float


DecisionsLine = Annotated[
    FiringRecord | DecisionRecord | ProposalRecord | AnswerRecord, Field(discriminator="type")
]
Line = FiringRecord | DecisionRecord | ProposalRecord | AnswerRecord
_LINES: TypeAdapter[list[DecisionsLine]] = TypeAdapter(list[DecisionsLine])


def read_decisions(run_dir: Path | str) -> list[Line]:
    """Every firing and decision a run recorded, oldest first; a malformed line names its field."""
    path = Path(run_dir) / DECISIONS
    raw = read_jsonl(path)
    try:
        recs = _LINES.validate_python(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        line = int(e["loc"][0]) + 1 if e["loc"] and isinstance(e["loc"][0], int) else "?"
        field = ".".join(str(x) for x in e["loc"][1:])
        raise RunError(f"{path}:{line}: {field}: {e['msg']}") from None
    for n, r in enumerate(recs, 1):
        if r.v != RECORD_VERSION:
            raise RunError(f"{path}:{n}: v {r.v} is not {RECORD_VERSION}")
    return recs


def rollback_decision(run_dir: Path | str) -> DecisionRecord | None:
    """The monitor's rollback decision in this run, if it has made one."""
    return next(
        (r for r in read_decisions(run_dir) if isinstance(r, DecisionRecord) and r.decision == "rollback"),
        None,
    )


def wait_for_decision(run_dir: Path | str, until: float, poll_s: float = 0.1) -> DecisionRecord | None:
    """Block until wall time ``until`` or until the monitor records a rollback decision."""
    while True:
        decision = rollback_decision(run_dir)
        if decision is not None:
            return decision
        left = until - time.time()
        if left <= 0:
            return None
        time.sleep(min(poll_s, left))


class ItemState(Record):
    """A checklist item's state — the one shape the gate, the phase result and the report share.

    ``signed`` is the latest person's sign-off (done, waived, blocked, open) with who, role and
    when; ``check_state`` the latest automated result (done, blocked) with its detail.
    ``satisfied`` and ``state`` are derived, recorded for readers, and never read back as input.
    """

    phase: str
    item: str
    text: str
    owner: str | None = None
    check: str | None = None
    required: bool = True
    signed: str | None = None
    by: str | None = None
    role: str | None = None
    at: str | None = None
    comment: str = ""
    check_state: str | None = None
    check_detail: str = ""

    @model_validator(mode="before")
    @classmethod
    def _derived_are_not_input(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in ("satisfied", "state")}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def satisfied(self) -> bool:
        """Waived, or the check passed (an item with a check), or signed done (one without)."""
        if self.signed == "waived":
            return True
        if self.check is not None:
            return self.check_state == "done"
        return self.signed == "done"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> str:
        """One word for tables: the sign-off when there is one, else the check, else open."""
        if self.signed == "waived" or (self.check is None and self.signed):
            return str(self.signed)
        if self.check is not None and self.check_state:
            return "passed" if self.check_state == "done" else "failed"
        return "open"

    @property
    def note(self) -> str:
        """What a table shows beside the state: the person's comment, else the check's detail."""
        return self.comment or self.check_detail


class GateRecord(Record):
    """A go/no-go gate's verdict: GO, or the open items and failed findings that hold it."""

    name: str
    go: bool
    phases: list[str]
    open: list[ItemState] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    satisfied: int
    required: int


class CheckRecord(Record):
    """One post-rollback check as its last round ended."""

    id: str
    text: str
    passed: bool
    detail: str = ""


class RollbackRecord(Record):
    """What the rollback did: procedures, wall times, the verification and who was told."""

    procedures: list[str]
    tier: Tier | None = None
    bad_rollback_caught: bool = False
    database_rollback: bool = False
    started: float = 0.0
    completed: float | None = None
    checks_green: float | None = None
    checks: list[CheckRecord] = Field(default_factory=list)
    notified: list[str] = Field(default_factory=list)
    issue_type: str = ""


class ErrorRecord(Record):
    """Where and why a run broke (the manifest's ``error``)."""

    phase: str | None = None
    cell: int | None = None
    message: str


class Scorecard(Record):
    """A run's scorecard: launch seconds from the fault's onset, and the verdict against its scenario.

    ``as_expected`` is ``None`` when there is nothing to compare with (no scenario) or the run
    broke (``not_scored`` says why); ``mismatches`` lists every difference from the scenario.
    """

    fault_onset_launch_s: float | None = None
    time_to_detect_s: float | None = None
    time_to_decide_s: float | None = None
    time_to_rollback_start_s: float | None = None
    time_to_rollback_s: float | None = None
    time_to_recover_s: float | None = None
    tier: Tier | None = None
    deadline_s: float | None = None
    deadline_from_s: float = 0.0
    deadline_from_why: str = ""  # why the deadline counts from later than the onset (a ramp)
    within_deadline: bool | None = None
    triggers: list[str] = Field(default_factory=list)
    noise: list[str] = Field(default_factory=list)
    rollback: bool = False
    database_rollback: bool = False
    bad_rollback_caught: bool = False
    gate: Literal["go", "no-go"] | None = None
    failed_phases: list[str] = Field(default_factory=list)
    mismatches: list[str] = Field(default_factory=list)
    as_expected: bool | None = None
    not_scored: str | None = None
