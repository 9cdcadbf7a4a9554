"""The monitor's live status (``monitor.json``): what it watches and each trigger's state right now.

The monitor rewrites it (atomically) about once a second and whenever a trigger changes state; the
war-room page, a phase notebook and ``launchlib monitor``'s neighbours read it. Its schema version
is ``v``: a status written before the field existed (no trigger states) reads as version 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from launchlib.plan.model import Tier
from launchlib.runfolder.events import read_json, read_versioned, write_json

__all__ = ["STATUS_VERSION", "MonitorStatus", "TriggerState", "read_status", "write_status"]

STATUS_VERSION = 2  # 1: before ``v`` and ``triggers``


class TriggerState(BaseModel):
    """A trigger at the monitor's latest evaluation: ``quiet``, ``pending`` (its condition holds,
    for ``held_s`` of the ``for_s`` it needs, launch seconds) or ``fired`` (at wall ``fired_at``)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tier: Tier
    state: Literal["quiet", "pending", "fired"]
    value: float | None = None
    op: str = ""
    threshold: float | None = None
    unit: str = ""
    held_s: float = 0.0
    for_s: float = 0.0
    fired_at: float | None = None


class MonitorStatus(BaseModel):
    """``monitor.json``: the monitor's state, target, rate, compression, T-0, progress and triggers."""

    model_config = ConfigDict(extra="forbid")

    v: int = STATUS_VERSION
    state: str  # running (baseline), watching (after the deploy), stopped, failed
    target: str = ""
    rate: float = 0.0
    compress: float = 1.0
    deploy_at: float | None = None
    samples: int = 0
    written_until: float = 0.0
    updated: float = 0.0
    pid: int | None = None
    triggers: list[TriggerState] = Field(default_factory=list)


def read_status(path: Path) -> MonitorStatus | None:
    """The status at ``path`` (``None``: no monitor has written one); a malformed one is named."""
    raw = read_json(path)
    if raw is None:
        return None
    return read_versioned(MonitorStatus, raw, STATUS_VERSION, str(path))


def write_status(path: Path, status: MonitorStatus) -> None:
    write_json(path, status.model_dump(mode="json"))
