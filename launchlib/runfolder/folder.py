"""Run folders: creating them (never over an old one), run ids, and the manifest.

``reports/<run-id>/`` holds the executed notebooks and their HTML, the samples, decisions and
events, the sign-off ledger and ``manifest.json`` (versioned, validated on write and read).
The pages people read are written by :mod:`launchlib.report`.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from launchlib.errors import RunError
from launchlib.runfolder.events import write_json
from launchlib.runfolder.records import DecisionsLine, ErrorRecord, GateRecord, RollbackRecord, Scorecard

__all__ = [
    "MANIFEST",
    "RUN_ID",
    "Manifest",
    "Outcome",
    "PhaseEntry",
    "check_run_id",
    "create_run",
    "read_manifest",
    "write_manifest",
]


class Outcome(StrEnum):
    """What a run came to: the first word of the manifest's ``outcome`` (details may follow a colon)."""

    RUNNING = "running"
    LAUNCHED = "launched"
    LAUNCHED_WITH_FINDINGS = "launched with findings"
    ROLLED_BACK = "rolled back"
    NO_GO = "no-go"
    ERROR = "error"  # the run broke: "error: kernel died (signal 9) during T+5m"
    INTERRUPTED = "interrupted"  # a signal, or a runner that died: "interrupted by SIGINT at T+1m"

    @classmethod
    def of(cls, text: str) -> Outcome:
        """The kind of an outcome text (an unknown one reads as an error: never as a success)."""
        for kind in (cls.ERROR, cls.INTERRUPTED):
            if text.startswith(kind.value):
                return kind
        try:
            return cls(text)
        except ValueError:
            return cls.ERROR

    @property
    def broken(self) -> bool:
        """The run itself broke or never finished (exit 3)."""
        return self in (Outcome.RUNNING, Outcome.ERROR, Outcome.INTERRUPTED)


MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class PhaseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phase: str
    status: str
    reason: str = ""
    started: float | None = None
    finished: float | None = None
    notebook: str | None = None
    html: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = MANIFEST_VERSION
    run_id: str
    scenario: str | None = None
    target: str
    plan_hash: str
    compress: float
    started: float
    finished: float | None = None
    outcome: str = "running"
    phases: list[PhaseEntry] = Field(default_factory=list)
    decisions: list[DecisionsLine] = Field(default_factory=list)
    rollback: RollbackRecord | None = None
    gate: GateRecord | None = None
    scorecard: Scorecard | None = None
    error: ErrorRecord | None = None
    pid: int | None = None  # the runner's process while the run is running: a dead one means stale
    host: str | None = None

    @field_validator("scorecard", mode="before")
    @classmethod
    def _no_scorecard(cls, v: object) -> object:
        return None if v == {} else v  # a run that never reached scoring recorded {}

    @property
    def kind(self) -> Outcome:
        """The outcome's kind (:class:`Outcome`), without its details."""
        return Outcome.of(self.outcome)


def check_run_id(run_id: str) -> str:
    """A run id is a name: letters, digits and ``. _ + -``, never a path (no ``/``, no ``..``)."""
    if not RUN_ID.match(run_id) or run_id in (".", "..") or ".." in run_id:
        raise RunError(f"--run-id {run_id!r}: a run id is a name: letters, digits and . _ + - only")
    return run_id


def create_run(reports: Path | str, run_id: str) -> Path:
    """A new run folder; an existing one is refused, never overwritten."""
    folder = Path(reports) / check_run_id(run_id)
    if Path(reports).exists() and not Path(reports).is_dir():
        raise RunError(f"{reports}: --reports is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise RunError(
            f"{folder}: a run with id {run_id!r} already exists; choose another --run-id"
        ) from None
    except OSError as exc:
        raise RunError(f"{folder}: cannot create the run folder: {exc.strerror}") from None
    return folder


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    write_json(
        run_dir / MANIFEST, Manifest.model_validate(manifest.model_dump(mode="json")).model_dump(mode="json")
    )


def read_manifest(run_dir: Path | str) -> Manifest:
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing (not a run folder, or the run never started)") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    try:
        m = Manifest.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise RunError(f"{path}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}") from None
    if m.version != MANIFEST_VERSION:
        raise RunError(f"{path}: version {m.version} is not {MANIFEST_VERSION}")
    return m
