"""The run's outbox (``notifications.jsonl``): every message the kit sent, to whom, when and why.

Each line is a :class:`Notification` with its schema version ``v`` (lines written before the
field existed read as version 1, the same fields). The report, the war-room page and the analysis
read them as records; the webhook deliveries that carried them are in ``deliveries.jsonl``.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from launchlib.runfolder.events import append_jsonl, read_jsonl, read_versioned
from launchlib.runfolder.files import RunFolder

__all__ = ["NOTE_VERSION", "Notification", "Recipient", "read_notifications", "record_notification"]

NOTE_VERSION = 2  # 1: before ``v``


class Recipient(BaseModel):
    """A role's holder a message went to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    name: str
    contact: str = ""


class Notification(BaseModel):
    """One message: when, from which phase (or the monitor), its kind, its text and its recipients."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = NOTE_VERSION
    at: float
    phase: str = ""
    kind: str
    message: str
    to: list[Recipient] = Field(default_factory=list)

    def recipients(self) -> str:
        return ", ".join(f"{p.name} ({p.role})" for p in self.to)


def record_notification(
    run_dir: Path | str, phase: str, kind: str, message: str, to: list[Recipient]
) -> Notification:
    """Append a message to the run's outbox, now."""
    note = Notification(at=time.time(), phase=phase, kind=kind, message=message, to=to)
    append_jsonl(RunFolder(run_dir).notifications_file, note.model_dump(mode="json"))
    return note


def read_notifications(run_dir: Path | str) -> list[Notification]:
    """Every message of a run, oldest first; a line this kit cannot read is named."""
    path = RunFolder(run_dir).notifications_file
    return [
        read_versioned(Notification, raw, NOTE_VERSION, f"{path}:{n}")
        for n, raw in enumerate(read_jsonl(path), 1)
    ]
