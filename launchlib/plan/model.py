"""The war-room plan as a typed model: team, escalation, phases, triggers, rollback, criteria.

One :class:`Plan` is read once per process (see :mod:`launchlib.plan.files`) and passed down;
nothing else parses the plan's YAML. Field names follow the seed's sections.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from launchlib.plan.channels import Channel, DeliveryKind
from launchlib.plan.environment import Environment
from launchlib.plan.known import KNOWN_CHECKS, KNOWN_METRICS
from launchlib.plan.promql import PrometheusQueries
from launchlib.plan.thresholds import Condition, Threshold

__all__ = [
    "ALL_TEAMS",
    "KNOWN_CHECKS",
    "KNOWN_METRICS",
    "Channel",
    "Checklists",
    "Conclusion",
    "DeliveryKind",
    "Environment",
    "Escalation",
    "IncidentClass",
    "IncidentStep",
    "IncidentType",
    "Item",
    "Metadata",
    "Monitoring",
    "NamedValue",
    "Phase",
    "PhaseKind",
    "Plan",
    "Procedure",
    "ProcedureKind",
    "Releases",
    "Role",
    "Rollback",
    "Stage",
    "Stakeholder",
    "Success",
    "Team",
    "Tier",
    "Trigger",
    "TriggerTier",
    "phase_id",
]

ALL_TEAMS = "all_teams"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(StrEnum):
    CORE = "core"
    SUPPORT = "support"


class Stage(StrEnum):
    PRE_LAUNCH = "pre_launch"
    LAUNCH = "launch"


class PhaseKind(StrEnum):
    """What a phase does; declared in the plan (the importer fills it from the seed's timeline)."""

    PRELAUNCH = "prelaunch"  # automated checks and sign-offs before the launch
    GATE = "gate"  # the go/no-go gate over every pre-launch phase
    DEPLOY = "deploy"  # T-0: baseline, deploy the candidate, watch it come up
    WATCH = "watch"  # checks, then the rollback triggers watched until the next phase
    SUCCESS = "success"  # the launch-success declaration against the success criteria
    REVIEW = "review"  # the post-launch review and the scorecard
    ROLLBACK = "rollback"  # the rollback notebook: not a phase of the timeline


class ProcedureKind(StrEnum):
    """What a rollback procedure acts on, so the rollback never guesses it from an id."""

    EMERGENCY_RELEASE = "emergency_release"  # every release service back at once
    CONTROLLED_RELEASE = "controlled_release"  # one service at a time, each verified
    DATABASE_RESTORE = "database_restore"  # the last verified backup restored


class Tier(StrEnum):
    """Rollback urgency, most urgent first."""

    IMMEDIATE = "immediate"
    FAST = "fast"
    CONTROLLED = "controlled"

    @property
    def rank(self) -> int:
        """0 for the most urgent tier."""
        return list(Tier).index(self)


class Metadata(_Strict):
    title: str
    subtitle: str = ""
    document: str = ""
    system: str = ""
    launch_date: str = ""
    launch_type: str = ""
    duration: str = ""
    prepared_for: str = ""
    date: str = ""
    version: str = ""
    status: str = ""


class Role(_Strict):
    """A war-room role (Launch Commander, DevOps Lead, …) and who holds it."""

    id: str
    title: str
    name: str
    contact: str
    availability: str = ""
    team: Team = Team.CORE


class Stakeholder(_Strict):
    id: str
    title: str
    organization: str
    contact: str
    escalation_level: str = ""


class NamedValue(_Strict):
    name: str
    value: str


class Escalation(_Strict):
    """Escalation matrix row: who is contacted, in order, for an issue type."""

    issue_type: str
    first_contact: str
    escalation: str
    final_escalation: str

    def chain(self) -> list[str]:
        return [self.first_contact, self.escalation, self.final_escalation]


class Item(_Strict):
    """One checklist item; ``check`` names an automated check, ``owner`` a role id."""

    id: str
    text: str
    owner: str | None = None
    check: str | None = None
    threshold: Threshold | None = None
    phase: str | None = None
    required: bool = True


class Phase(_Strict):
    """A timeline phase (T-24h … T+24h) at ``offset_s`` seconds from T-0."""

    id: str
    title: str
    name: str = ""
    stage: Stage
    kind: PhaseKind
    offset_s: int
    items: list[Item] = Field(default_factory=list)
    timeout_s: Annotated[float, Field(gt=0)] | None = None  # launch s; default 3 × its span (timeline)
    retry_on_kernel_death: bool = False  # a kernel that dies under it: run the phase once more


class Trigger(_Strict):
    """A rollback trigger: its condition, the procedures it calls for, its incident type."""

    id: str
    text: str
    condition: Condition
    procedures: list[str] = Field(min_length=1)  # ids of rollback.procedures, release first
    incident: str  # the escalation matrix's issue type (Technical, Security, Trading, …)


class TriggerTier(_Strict):
    """A tier of rollback triggers with the seed's time range and rollback deadline. With ``confirm``
    a firing *proposes* the rollback: one of ``confirm_roles`` accepts or rejects it within
    ``confirm_timeout_s`` launch seconds, else ``confirm_default`` acts."""

    id: Tier
    title: str
    from_s: int = Field(ge=0)
    until_s: int = Field(gt=0)
    deadline_s: int = Field(gt=0)
    triggers: list[Trigger] = Field(default_factory=list)
    confirm: bool = False
    confirm_roles: list[str] = Field(default_factory=lambda: ["launch_commander"], min_length=1)
    confirm_timeout_s: int = Field(default=600, gt=0)
    confirm_default: Literal["rollback", "proceed"] = "rollback"

    @model_validator(mode="after")
    def _range(self) -> TriggerTier:
        if self.until_s <= self.from_s:
            raise ValueError(f"until_s {self.until_s} must be after from_s {self.from_s}")
        return self


class Procedure(_Strict):
    id: str
    kind: ProcedureKind
    title: str
    description: str = ""
    commands: list[str] = Field(default_factory=list)


class Rollback(_Strict):
    tiers: list[TriggerTier] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    post_checks: list[Item] = Field(default_factory=list)
    communication: list[Item] = Field(default_factory=list)


class Success(_Strict):
    launch_criteria: list[Item] = Field(default_factory=list)
    performance_targets: list[Item] = Field(default_factory=list)
    business_metrics: list[Item] = Field(default_factory=list)


class IncidentType(_Strict):
    name: str
    description: str


class IncidentClass(_Strict):
    id: str
    title: str
    response: str
    response_s: int = Field(ge=0)
    incidents: list[IncidentType] = Field(default_factory=list)


class IncidentStep(_Strict):
    id: str
    number: int
    title: str
    items: list[Item] = Field(default_factory=list)


class Incidents(_Strict):
    classes: list[IncidentClass] = Field(default_factory=list)
    procedure: list[IncidentStep] = Field(default_factory=list)


class Checklists(_Strict):
    pre_launch: list[Item] = Field(default_factory=list)
    launch_day: list[Item] = Field(default_factory=list)
    post_launch: list[Item] = Field(default_factory=list)


class Monitoring(_Strict):
    """How triggers are evaluated (see the trigger engine) and which endpoint is which class."""

    interval_s: Annotated[float, Field(gt=0)] = 10.0
    window_s: Annotated[float, Field(gt=0)] = 60.0
    for_s: Annotated[float, Field(gt=0)] = 30.0
    min_samples: Annotated[int, Field(ge=1)] = 10
    # a rehearsal compresses time: a p95 over 60 launch seconds at 30x is 2 real seconds and ~100
    # samples, mostly noise. Latency windows and their 'for' span at least these real seconds.
    min_real_window_s: Annotated[float, Field(gt=0)] = 5.0
    min_real_for_s: Annotated[float, Field(ge=0)] = 1.0
    # a latency measured while the monitor's own loop (or the embedded simulator's, on the same
    # host) was held up longer than this (a busy host) is the host's, not the service's: such
    # samples count for failures but not for latency
    max_client_stall_ms: Annotated[float, Field(gt=0)] | None = 50.0
    phase_slack_s: Annotated[float, Field(ge=0)] = 120.0  # real s added to each phase's timeout
    endpoint_classes: dict[str, str] = Field(
        min_length=1,
        default_factory=lambda: {
            "/health": "health",
            "/api/market": "api",
            "/api/orders": "trading",
            "/api/risk": "risk",
            "/api/integrity": "integrity",
            "/admin/config": "security",
        },
    )
    # the PromQL a --source prometheus run judges from (defaults: http_requests_total and
    # http_request_duration_seconds by endpoint and status)
    prometheus: PrometheusQueries = Field(default_factory=PrometheusQueries)

    @model_validator(mode="after")
    def _for_within_window(self) -> Monitoring:
        if self.for_s > self.window_s:
            raise ValueError(f"for_s {self.for_s:g} must not exceed window_s {self.window_s:g}")
        return self


class Releases(_Strict):
    previous: str = "prod-rollback"
    candidate: str = "v1.0-prod-ready"


class Conclusion(_Strict):
    summary: str = ""
    key_success_factors: list[NamedValue] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


class Plan(_Strict):
    """The whole war-room plan; see ``parameters/plan.yaml`` for the reference plan."""

    schema_version: int = 1
    metadata: Metadata
    roles: list[Role]
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    escalation: list[Escalation] = Field(default_factory=list)
    phases: list[Phase]
    rollback: Rollback = Field(default_factory=Rollback)
    success: Success = Field(default_factory=Success)
    incidents: Incidents = Field(default_factory=Incidents)
    checklists: Checklists = Field(default_factory=Checklists)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    releases: Releases = Field(default_factory=Releases)
    environment: Environment = Field(default_factory=Environment)
    conclusion: Conclusion = Field(default_factory=Conclusion)

    def phase(self, phase: str) -> Phase:
        """The phase with this id (``T+5m``); KeyError names the known ones."""
        for p in self.phases:
            if p.id == phase:
                return p
        raise KeyError(f"no phase {phase!r} in plan (known: {', '.join(p.id for p in self.phases)})")

    def role(self, role: str) -> Role:
        """A role by id, title or holder's name (``CTO`` is the Launch Commander)."""
        found = self.resolve_role(role)
        if found is None:
            raise KeyError(f"no role {role!r} in plan (known: {', '.join(r.id for r in self.roles)})")
        return found

    def escalation_chain(self, issue_type: str) -> list[Role]:
        """The escalation matrix's contacts for ``issue_type``, in order, as the plan's roles."""
        row = next((e for e in self.escalation if e.issue_type == issue_type), None)
        return [r for label in (row.chain() if row else []) if (r := self.resolve_role(label)) is not None]

    def resolve_role(self, label: str) -> Role | None:
        key = label.strip().lower()
        for r in self.roles:
            if key in (r.id, r.title.lower(), r.name.lower()):
                return r
        return None

    def item_lists(self) -> Iterator[tuple[str, list[Item]]]:
        """Every checklist of the plan as (section path, items), in the seed's order."""
        for p in self.phases:
            yield f"phases.{p.id}", p.items
        yield "rollback.post_checks", self.rollback.post_checks
        yield "rollback.communication", self.rollback.communication
        yield "success.launch_criteria", self.success.launch_criteria
        yield "success.performance_targets", self.success.performance_targets
        yield "success.business_metrics", self.success.business_metrics
        for s in self.incidents.procedure:
            yield f"incidents.procedure.{s.id}", s.items
        yield "checklists.pre_launch", self.checklists.pre_launch
        yield "checklists.launch_day", self.checklists.launch_day
        yield "checklists.post_launch", self.checklists.post_launch

    def triggers(self) -> Iterator[tuple[TriggerTier, Trigger]]:
        for tier in self.rollback.tiers:
            for trig in tier.triggers:
                yield tier, trig

    def tier(self, tier: Tier | str) -> TriggerTier:
        for t in self.rollback.tiers:
            if t.id == tier:
                return t
        raise KeyError(f"no rollback tier {tier!r} in plan")

    def checklist_count(self) -> int:
        """All checklist entries, rollback triggers included (the seed has 132)."""
        return sum(len(items) for _, items in self.item_lists()) + sum(1 for _ in self.triggers())

    def digest(self) -> str:
        """SHA-256 of the plan's canonical JSON: identifies the plan a run used."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


_PHASE_RE = re.compile(r"T\s*([+-])\s*(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m)?\b", re.IGNORECASE)


def phase_id(label: str) -> tuple[str, int] | None:
    """Read ``T-24 Hours`` / ``T+5 Minutes`` / ``T-0`` as (``T-24h``, offset seconds)."""
    m = _PHASE_RE.search(label)
    if m is None:
        return None
    sign, n, unit = m.group(1), int(m.group(2)), (m.group(3) or "").lower()
    if n == 0:
        return "T-0", 0
    if unit.startswith("m"):
        suffix, seconds = "m", n * 60
    else:
        suffix, seconds = "h", n * 3600
    return f"T{sign}{n}{suffix}", seconds if sign == "+" else -seconds
