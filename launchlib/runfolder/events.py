"""What a run folder records as it happens: samples parts, decisions and events (JSON lines).

Timeline events are :class:`TimelineEvent` records: a kind from :class:`Event`, a wall time, the
phase and reason when there is one, and the kind's own facts; each line carries its schema
version ``v`` (lines written before the field existed read as version 1, the same fields).

Writers append (one JSON object per line, flushed at once) so a reader — a phase notebook,
the runner, a person with ``tail -f`` — sees each fact when it happens, and a crash loses at
most the line being written. Readers skip nothing silently: a corrupt line is an error naming
the file and line.
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from launchlib.errors import RunError
from launchlib.probing.sampler import COLUMNS

__all__ = [
    "DECISIONS",
    "EVENTS",
    "EVENT_VERSION",
    "SAMPLES_DIR",
    "SEAL",
    "Event",
    "TimelineEvent",
    "append_jsonl",
    "event_time",
    "first_event",
    "read_events",
    "read_json",
    "read_jsonl",
    "read_run_samples",
    "read_versioned",
    "record_event",
    "refuse_if_sealed",
    "sample_parts",
    "write_json",
]


class Event(StrEnum):
    """The names of the run's timeline events (``events.jsonl``): one list, no string typed twice."""

    DEPLOY_STARTED = "deploy_started"
    DEPLOYED = "deployed"  # T-0 of the launch clock
    CLOCK = "clock"  # a standalone phase's launch clock, when it is not the deploy
    ROLLBACK_STARTED = "rollback_started"
    BAD_ROLLBACK = "bad_rollback"  # the release rollback left the wrong release running
    DATABASE_RESTORED = "database_restored"
    ROLLBACK_COMPLETED = "rollback_completed"
    POST_CHECKS_PENDING = "post_checks_pending"  # a round of post-rollback checks not yet green
    POST_CHECKS_GREEN = "post_checks_green"  # recovered
    PHASE_FINISHED = "phase_finished"
    INTERRUPT = "interrupt"  # the runner stopped a phase (decision, dead monitor, signal)
    MONITOR_FAILED = "monitor_failed"
    FAULT_INJECTED = "fault_injected"  # a container fault acted (rehearsals of a real stack)
    FAULT_CLEARED = "fault_cleared"
    KERNEL_DIED = "kernel_died"  # the kernel running a phase ended under it
    KERNEL_REPLACED = "kernel_replaced"  # a waiting (warm or reserved) kernel died and was replaced
    KERNEL_KILLED = "kernel_killed"  # a kernel that did not answer its interrupt was killed
    PHASE_TIMEOUT = "phase_timeout"  # a phase ran past its timeout and was stopped
    PHASE_RETRIED = "phase_retried"  # a phase whose kernel died ran once more on a fresh one
    DELIVERY_PROBLEM = "delivery_problem"  # a webhook delivery crashed or hung past its deadline


EVENT_VERSION = 2  # 1: the lines written before ``v`` existed (same fields)


class TimelineEvent(BaseModel):
    """One line of ``events.jsonl``: what happened (``event``), when (wall ``at``), in which phase and
    why, plus the kind's own facts (``release``, ``procedures``, ``failing`` …) read with :meth:`info`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    v: int = EVENT_VERSION
    event: Event
    at: float
    phase: str | None = None
    reason: str | None = None

    def info(self, key: str, default: Any = None) -> Any:
        """A fact this kind of event carries beyond the common fields."""
        return (self.model_extra or {}).get(key, default)


DECISIONS = "decisions.jsonl"
SEAL = "SEAL.json"  # a sealed run's hashes (:mod:`launchlib.runfolder.seal`); no writes after it
EVENTS = "events.jsonl"
SAMPLES_DIR = "samples"


def refuse_if_sealed(run_dir: Path) -> None:
    """Refuse a write into a sealed run folder: its files are evidence now."""
    if (run_dir / SEAL).exists():
        raise RunError(f"{run_dir}: the run is sealed ({SEAL}); it takes no further appends")


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    refuse_if_sealed(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")
        fh.flush()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if n == len(lines):
                break  # a line still being written
            raise RunError(f"{path}:{n}: not a JSON line ({exc.msg})") from None
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temp file, then rename): readers never see half a file."""
    refuse_if_sealed(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object written by :func:`write_json`; ``None`` when the file is not there."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    return data


def record_event(run_dir: Path | str, event: Event, at: float | None = None, **info: Any) -> TimelineEvent:
    """Append a timeline event (``deployed``, ``rollback_started``, …) with its wall time."""
    rec = TimelineEvent(event=event, at=time.time() if at is None else at, **info)
    append_jsonl(Path(run_dir) / EVENTS, rec.model_dump(mode="json", exclude_none=True))
    return rec


V = TypeVar("V", bound=BaseModel)


def read_versioned(model: type[V], raw: dict[str, Any], newest: int, where: str) -> V:
    """A record of a run file that carries its schema version ``v`` (absent: version 1, written
    before the field existed); a malformed or newer one is a RunError naming ``where`` and the field."""
    try:
        rec = model.model_validate({"v": 1, **raw})
    except ValidationError as exc:
        e = exc.errors()[0]
        raise RunError(f"{where}: {'.'.join(map(str, e['loc']))}: {e['msg']}") from None
    version = int(getattr(rec, "v", 1))
    if version > newest:
        raise RunError(f"{where}: v {version} is newer than this kit reads ({newest})")
    return rec


def read_events(run_dir: Path | str) -> list[TimelineEvent]:
    """Every timeline event of a run, oldest first; a line this kit cannot read is named."""
    path = Path(run_dir) / EVENTS
    return [
        read_versioned(TimelineEvent, raw, EVENT_VERSION, f"{path}:{n}")
        for n, raw in enumerate(read_jsonl(path), 1)
    ]


def first_event(events: list[TimelineEvent], kind: Event, phase: str | None = None) -> TimelineEvent | None:
    """The first event of ``kind`` (in ``phase``, when given) among ``events``."""
    return next((e for e in events if e.event == kind and (phase is None or e.phase == phase)), None)


def event_time(run_dir: Path | str, event: Event) -> float | None:
    """Wall time of the first ``event`` recorded in the run, if any."""
    first = first_event(read_events(run_dir), event)
    return None if first is None else first.at


def sample_parts(run_dir: Path | str) -> list[Path]:
    """A run's Parquet parts, oldest first (none when it recorded no samples)."""
    folder = Path(run_dir) / SAMPLES_DIR
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def read_run_samples(run_dir: Path | str, newest_parts: int | None = None) -> pd.DataFrame:
    """Every sample the monitor (and the phases) recorded in a run, oldest first; with
    ``newest_parts``, only the samples of the last parts written (about a second each)."""
    parts = sample_parts(run_dir)
    if newest_parts is not None:
        parts = parts[-newest_parts:]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    frames = []
    for p in parts:
        try:
            frames.append(pd.read_parquet(p))
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise RunError(f"{p}: unreadable samples part ({exc})") from None
    return pd.concat(frames, ignore_index=True).sort_values("ts", kind="stable", ignore_index=True)
