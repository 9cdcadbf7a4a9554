"""The sign-off ledger: an append-only SQLite record of who confirmed what, and when.

Every sign-off (and every automated check result) is one event; nothing is rewritten, so
un-signing is a new ``open`` event and the table is the audit trail. The file lives in the
run folder (``reports/<run-id>/ledger.sqlite``), in WAL mode so a notebook's widgets, the
CLI and the runner can use it at once; each write is its own ``BEGIN IMMEDIATE`` transaction.
A file that is not SQLite, or SQLite that is not a launchlib ledger, is refused and left as is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from launchlib.errors import LedgerError, RunError
from launchlib.plan.files import load_plan
from launchlib.plan.model import Plan
from launchlib.runfolder.events import refuse_if_sealed
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import check_run_id

__all__ = [
    "Event",
    "Ledger",
    "SignState",
    "Source",
    "open_run_ledger",
]

_APP = "launchlib-ledger"
_SCHEMA = 1

_DDL = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    item TEXT NOT NULL,
    role TEXT NOT NULL,
    person TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('done', 'waived', 'blocked', 'open')),
    source TEXT NOT NULL CHECK (source IN ('person', 'check')),
    comment TEXT NOT NULL DEFAULT '',
    ts TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the sign-off ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the sign-off ledger is append-only'); END;
"""


class SignState(StrEnum):
    """State of an item: ``done`` and ``waived`` satisfy a gate; ``open`` is an un-sign."""

    DONE = "done"
    WAIVED = "waived"
    BLOCKED = "blocked"
    OPEN = "open"

    @property
    def satisfied(self) -> bool:
        return self in (SignState.DONE, SignState.WAIVED)


class Source(StrEnum):
    PERSON = "person"
    CHECK = "check"


@dataclass(frozen=True)
class Event:
    """One ledger row."""

    seq: int
    run_id: str
    phase: str
    item: str
    role: str
    person: str
    state: SignState
    source: Source
    comment: str
    ts: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"], d["source"] = str(self.state), str(self.source)
        return d


class Ledger:
    """The ledger of one run; opening creates it, or checks an existing file is a ledger."""

    def __init__(self, path: Path | str, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                self._check_or_init(db)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: not a usable sign-off ledger ({exc}); left untouched") from None

    @classmethod
    def in_run(cls, run_dir: Path | str, run_id: str | None = None) -> Ledger:
        """The ledger of a run folder; the run's identity is its manifest's, not the folder's name
        (a renamed or copied run folder keeps seeing its own sign-offs)."""
        run_dir = Path(run_dir)
        return cls(RunFolder(run_dir).ledger_file, run_id or _run_identity(run_dir))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        finally:
            db.close()

    def _check_or_init(self, db: sqlite3.Connection) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "ledger_meta" not in tables:
            raise LedgerError(
                f"{self.path}: SQLite file is not a launchlib ledger (tables: {sorted(tables)})"
            )
        if not tables:
            db.execute("PRAGMA journal_mode = WAL")
            # one transaction, so a second process never sees the tables without their meta rows
            db.executescript(
                f"BEGIN IMMEDIATE; {_DDL} INSERT OR IGNORE INTO ledger_meta"
                f" VALUES ('app', '{_APP}'), ('schema', '{_SCHEMA}'); COMMIT;"
            )
        meta = dict(db.execute("SELECT key, value FROM ledger_meta").fetchall())
        if meta.get("app") != _APP:
            raise LedgerError(f"{self.path}: ledger_meta.app is {meta.get('app')!r}, not {_APP!r}")
        if meta.get("schema") != str(_SCHEMA):
            raise LedgerError(
                f"{self.path}: ledger_meta.schema is {meta.get('schema')!r}; expected {_SCHEMA}"
            )

    def append(
        self,
        phase: str,
        item: str,
        *,
        role: str,
        person: str,
        state: SignState | str,
        source: Source | str = Source.PERSON,
        comment: str = "",
    ) -> Event:
        """Append one event and return it (with its sequence number and UTC timestamp)."""
        refuse_if_sealed(self.path.parent)
        ts = datetime.now(UTC).isoformat(timespec="milliseconds")
        state, source = SignState(state), Source(source)
        row = (self.run_id, phase, item, role, person, str(state), str(source), comment, ts)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute(
                "INSERT INTO events (run_id, phase, item, role, person, state, source, comment, ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            db.execute("COMMIT")
            seq = int(cur.lastrowid or 0)
        return Event(seq, self.run_id, phase, item, role, person, state, source, comment, ts)

    def history(self, phase: str | None = None, item: str | None = None) -> list[Event]:
        """Every event, oldest first, optionally for one phase or one item."""
        sql, args = "SELECT * FROM events WHERE run_id = ?", [self.run_id]
        if phase is not None:
            sql, args = sql + " AND phase = ?", [*args, phase]
        if item is not None:
            sql, args = sql + " AND item = ?", [*args, item]
        try:
            with self._connect() as db:
                rows = db.execute(sql + " ORDER BY seq", args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: cannot read the ledger ({exc})") from None
        return [
            Event(r[0], r[1], r[2], r[3], r[4], r[5], SignState(r[6]), Source(r[7]), r[8], r[9]) for r in rows
        ]

    def current(self, phase: str | None = None) -> dict[tuple[str, str], Event]:
        """The latest event per (phase, item): the item's current state."""
        return {(e.phase, e.item): e for e in self.history(phase)}


def _run_identity(run_dir: Path) -> str:
    """The run id recorded in the run: the manifest's, else the ledger's own events', else the folder."""
    try:
        run_id = json.loads(RunFolder(run_dir).manifest_file.read_text(encoding="utf-8")).get("run_id")
        if isinstance(run_id, str) and run_id:
            return run_id
    except (OSError, ValueError):
        pass
    path = RunFolder(run_dir).ledger_file
    if path.exists():
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
            try:
                row = db.execute("SELECT run_id FROM events ORDER BY seq LIMIT 1").fetchone()
            finally:
                db.close()
            if row:
                return str(row[0])
        except sqlite3.Error:
            pass  # a corrupt or foreign file is refused, untouched, when the ledger opens it
    return run_dir.name


def open_run_ledger(run_dir: Path, plan_path: Path) -> tuple[Plan, Ledger]:
    """The plan a run used (its own copy when it has one) and its ledger, for the CLI and the page."""
    check_run_id(run_dir.name)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder (start the run first, e.g. launchlib run-phase)")
    return load_plan(RunFolder(run_dir).plan(plan_path)), Ledger.in_run(run_dir)
