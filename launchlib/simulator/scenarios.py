"""Faults and rehearsal scenarios: what goes wrong, when (on the T-0 clock), and what to expect.

A fault is bound to a **release** (a bug: rolling back removes it) or to **infrastructure**
(it persists across a release rollback until repaired, e.g. by the database rollback).
A scenario lists faults with start and end times in launch seconds relative to T-0 (the
deploy) and states what a correct launch process does, so a rehearsal can be scored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from launchlib.errors import PlanError, Problem
from launchlib.plan.model import Tier
from launchlib.plan.yamlfile import load_model

__all__ = [
    "DEFAULT_SCENARIOS",
    "Binding",
    "Effect",
    "Expectation",
    "Fault",
    "FaultKind",
    "Scenario",
    "active_effect",
    "list_scenarios",
    "load_scenario",
]

DEFAULT_SCENARIOS = Path("parameters/scenarios")


class FaultKind(StrEnum):
    LATENCY = "latency"  # added latency: constant, ramp, jitter, to a share of requests
    ERRORS = "errors"  # error responses at a rate, with a status, on some endpoints
    OUTAGE = "outage"  # nothing answers (503, or no answer until the client times out)
    TRADING_FAILURE = "trading_failure"  # the trading engine fails: orders answer 500
    RISK_FAILURE = "risk_failure"  # the risk engine fails: risk calculations answer 500
    DATA_INTEGRITY = "data_integrity"  # positions and ledger disagree: /api/integrity answers 409
    SECURITY_BREACH = "security_breach"  # the admin endpoint answers without authentication
    MONITORING_GAP = "monitoring_gap"  # /metrics and /health stop answering
    FLAPPING = "flapping"  # outage that switches on and off every ``period_s``
    # the emergency rollback restarts the current release: in the simulator its rollback command
    # does; on a stack the previous release's tag is overwritten with the candidate's image (a
    # re-tag or a build pushed under the wrong tag), so a rollback that trusts the tag (the seed's
    # emergency ``down``/``up``) brings the candidate back
    BAD_ROLLBACK = "bad_rollback"
    # faults of a real stack, acted on its containers through the Docker Engine API (a rehearsal
    # with --docker-project): until end_s a paused container is unpaused, a stopped or killed one
    # started again; a restart is one act. The simulator has no containers and ignores them.
    CONTAINER_PAUSE = "container_pause"
    CONTAINER_STOP = "container_stop"
    CONTAINER_KILL = "container_kill"
    CONTAINER_RESTART = "container_restart"
    # a command run in a service's container (``command``), e.g. SQL that corrupts the books in
    # the stack's PostgreSQL: a data fault only the database rollback undoes
    CONTAINER_EXEC = "container_exec"

    @property
    def on_container(self) -> bool:
        return self.value.startswith("container_")

    @property
    def on_stack(self) -> bool:
        """Whether a rehearsal against a compose stack (``--docker-project``) can act it."""
        return self.on_container or self is FaultKind.BAD_ROLLBACK


class Binding(StrEnum):
    RELEASE = "release"
    INFRASTRUCTURE = "infrastructure"


class Fault(BaseModel):
    """One injected fault, active from ``start_s`` to ``end_s`` (launch seconds after T-0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    binding: Binding = Binding.RELEASE
    release: str = "v1.0-prod-ready"
    start_s: float = 0.0
    end_s: float | None = None
    endpoints: tuple[str, ...] = ()
    share: float = Field(1.0, ge=0.0, le=1.0)
    latency_ms: float = 0.0
    ramp_to_ms: float = 0.0
    jitter_ms: float = 0.0
    rate: float = Field(1.0, ge=0.0, le=1.0)
    status: int = 500
    mode: str = "503"
    period_s: float = 20.0
    # a container fault's compose service: with binding 'release', the candidate's containers
    # (of this service, or all release services when unset); with 'infrastructure', this service
    service: str | None = None
    command: tuple[str, ...] = ()  # container_exec: what to run in the service's container

    @model_validator(mode="after")
    def _check(self) -> Fault:
        if (self.kind is FaultKind.CONTAINER_EXEC) != bool(self.command):
            raise ValueError("command goes with a container_exec fault, which needs one")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        if self.kind.on_container and self.binding is Binding.INFRASTRUCTURE and not self.service:
            raise ValueError(f"an infrastructure {self.kind.value} fault needs the service it stops")
        if self.service and not self.kind.on_container:
            raise ValueError(f"service applies to container faults, not to {self.kind.value}")
        if self.mode not in ("503", "timeout"):
            raise ValueError("mode must be '503' or 'timeout'")
        if self.kind is FaultKind.LATENCY and not (self.latency_ms or self.ramp_to_ms or self.jitter_ms):
            raise ValueError("a latency fault needs latency_ms, ramp_to_ms or jitter_ms")
        return self

    def applies(self, t: float, release: str, path: str) -> bool:
        """Whether this fault affects a request to ``path`` at launch time ``t`` (in the simulator)."""
        if self.kind.on_container or t < self.start_s or (self.end_s is not None and t >= self.end_s):
            return False
        if self.binding is Binding.RELEASE and release != self.release:
            return False
        return not self.endpoints or any(path.startswith(e) for e in self.endpoints)


class Expectation(BaseModel):
    """What a correct launch process does in this scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rollback: bool
    tier: Tier | None = None
    triggers: tuple[str, ...] = ()
    database_rollback: bool = False
    bad_rollback_caught: bool = False
    gate: str = "go"
    # launch seconds at which the fault crosses the plan's thresholds (a ramp starts below them);
    # the tier's deadline runs from here. Default: the fault's onset.
    detectable_at_s: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Expectation:
        if self.rollback and self.tier is None:
            raise ValueError("an expected rollback needs its tier")
        if self.gate not in ("go", "no-go"):
            raise ValueError("gate must be 'go' or 'no-go'")
        return self


class Scenario(BaseModel):
    """A rehearsal scenario: faults on the T-0 clock and the expected outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    faults: tuple[Fault, ...] = ()
    expect: Expectation
    missing_signoffs: tuple[str, ...] = ()  # "PHASE/ITEM" left unsigned to rehearse a NO-GO
    seed: int = 7

    def first_onset(self) -> float | None:
        """Launch time of the first fault that can be seen after T-0 (not bad_rollback)."""
        starts = [f.start_s for f in self.faults if f.kind is not FaultKind.BAD_ROLLBACK]
        return min(starts) if starts else None

    def has(self, kind: FaultKind) -> bool:
        return any(f.kind is kind for f in self.faults)

    def container_faults(self) -> list[Fault]:
        """The faults a rehearsal acts on a compose project (``--docker-project``): its containers
        and its images."""
        return [f for f in self.faults if f.kind.on_stack]

    def simulator_faults(self) -> list[Fault]:
        """The faults only the simulator can inject (a real stack cannot be made to answer 503)."""
        return [f for f in self.faults if not f.kind.on_container]


def list_scenarios(folder: Path | str = DEFAULT_SCENARIOS) -> list[str]:
    """Names of the scenarios shipped in ``folder``."""
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))


def load_scenario(name_or_path: str | Path, folder: Path | str = DEFAULT_SCENARIOS) -> Scenario:
    """A scenario by name (``latency-spike``) or path; unknown or malformed raises PlanError."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = Path(folder) / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(list_scenarios(folder)) or "none"
        raise PlanError(
            [Problem(str(path), "name", f"unknown scenario {str(name_or_path)!r} (known: {known})")]
        )
    return load_model(path, Scenario)


@dataclass
class Effect:
    """What the simulator does to one request, combined from every active fault."""

    extra_ms: float = 0.0
    status: int | None = None
    hang: bool = False
    faults: list[FaultKind] = field(default_factory=list)


def active_effect(
    faults: list[Fault], t: float | None, release: str, path: str, rng: random.Random
) -> Effect:
    """Combine the faults active at launch time ``t`` for a request to ``path``."""
    eff = Effect()
    if t is None:
        return eff
    for f in faults:
        if not f.applies(t, release, path):
            continue
        k = f.kind
        if k is FaultKind.LATENCY:
            if rng.random() >= f.share:
                continue
            eff.extra_ms += f.latency_ms
            if f.ramp_to_ms:
                span = (f.end_s - f.start_s) if f.end_s else 600.0
                eff.extra_ms += f.ramp_to_ms * min(1.0, (t - f.start_s) / span)
            if f.jitter_ms:
                eff.extra_ms += rng.uniform(0, f.jitter_ms)
        elif k in (FaultKind.OUTAGE, FaultKind.FLAPPING):
            # /metrics is the front proxy's exporter: it counts the 503s of a crash-looping
            # release; only a monitoring gap takes it away
            if path == "/metrics" or (k is FaultKind.FLAPPING and int((t - f.start_s) // f.period_s) % 2):
                continue
            eff.hang = eff.hang or f.mode == "timeout"
            eff.status = 503
        elif k is FaultKind.MONITORING_GAP:
            if path not in ("/metrics", "/health"):
                continue
            eff.hang = True
        elif k in _FAILING:
            if not path.startswith(_FAILING[k]) or rng.random() >= f.rate:
                continue
            eff.status = f.status
        eff.faults.append(k)  # data integrity and security breach are handled by their endpoint
    return eff


_FAILING = {
    FaultKind.ERRORS: "/",
    FaultKind.TRADING_FAILURE: "/api/orders",
    FaultKind.RISK_FAILURE: "/api/risk",
}
