"""Deployment and database backends: where the target's releases and data live.

Notebooks and the runner call these and never branch on what the target is. The simulator
backend drives the simulator's loopback control API; the PostgreSQL backend verifies a real
database backup with ``pg_dump`` / ``pg_restore`` / ``psql`` (restore into a scratch database,
compare every table's row count and checksum, drop the scratch database).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from launchlib.errors import TargetError
from launchlib.target import Target

__all__ = ["BackupCheck", "PostgresDatabase", "SimDatabase", "SimDeployer"]


@dataclass(frozen=True)
class BackupCheck:
    """A backup taken, restored elsewhere and compared with the source."""

    ok: bool
    detail: str
    backup_id: str
    source_digest: str
    restored_digest: str


class _SimControl:
    def __init__(self, target: Target) -> None:
        self.target = target

    def command(self, cmd: str, **body: Any) -> dict[str, Any]:
        url = f"{self.target.base_url}/_sim/{cmd}"
        try:
            r = (
                httpx.post(url, json=body, timeout=self.target.timeout_s)
                if body or cmd != "state"
                else (httpx.get(url, timeout=self.target.timeout_s))
            )
        except httpx.HTTPError as exc:
            raise TargetError(f"{url}: simulator control API unreachable ({exc})") from None
        if r.status_code != 200:
            raise TargetError(f"{url}: {r.status_code} {r.text[:200]}")
        data: dict[str, Any] = r.json()
        return data


class SimDeployer(_SimControl):
    """Deploy and roll back releases on the simulator."""

    def state(self) -> dict[str, Any]:
        return self.command("state")

    def releases(self) -> dict[str, str]:
        return dict(self.state()["releases"])

    def deploy(self, release: str) -> dict[str, Any]:
        return self.command("deploy", release=release)

    def rollback(self, procedure: str) -> dict[str, Any]:
        return self.command("rollback", procedure=procedure)

    def wait_serving(self, release: str, timeout_s: float = 30.0) -> float:
        """Poll ``/version`` until ``release`` answers; returns the wall time it first did."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.target.base_url, timeout=2.0) as c:
            while time.monotonic() < deadline:
                try:
                    r = c.get("/version")
                    if r.status_code == 200 and r.json().get("release") == release:
                        return time.time()
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise TargetError(f"{self.target.base_url}: release {release!r} not serving after {timeout_s:.0f} s")


class SimDatabase(_SimControl):
    """The simulator's positions and ledger, with backup and restore."""

    def backup(self) -> dict[str, Any]:
        return self.command("db/backup")

    def restore(self, backup_id: str | None = None) -> dict[str, Any]:
        return self.command("db/restore", **({"backup_id": backup_id} if backup_id else {"latest": True}))

    def verify_backup(self) -> BackupCheck:
        taken = self.backup()
        restored = self.command("db/verify", backup_id=taken["backup_id"])
        ok = restored["digest"] == taken["digest"]
        return BackupCheck(
            ok,
            f"backup {taken['backup_id']} ({taken['rows']} rows) restored into scratch copy:"
            f" digests {'match' if ok else 'differ'}",
            taken["backup_id"],
            taken["digest"],
            restored["digest"],
        )


class PostgresDatabase:
    """A real PostgreSQL database; connection from libpq environment or a DSN env variable."""

    _DIGEST_SQL = (
        "SELECT string_agg(t.tbl || ':' || t.n || ':' || t.h, ',' ORDER BY t.tbl) FROM ("
        " SELECT format('%I.%I', schemaname, relname) AS tbl,"
        " (xpath('/row/n/text()', query_to_xml("
        "format('select count(*) as n from %I.%I', schemaname, relname), false, true, '')))[1]::text AS n,"
        " (xpath('/row/h/text()', query_to_xml(format("
        "'select md5(coalesce(string_agg(md5(x::text), '''' order by md5(x::text)), ''''))"
        " as h from %I.%I x',"
        " schemaname, relname), false, true, '')))[1]::text AS h"
        " FROM pg_stat_user_tables) t"
    )

    def __init__(self, dsn_env: str = "LAUNCHLIB_DATABASE_URL", dsn: str | None = None) -> None:
        self.dsn = dsn or os.environ.get(dsn_env, "")
        if not self.dsn:
            raise TargetError(f"no database: set {dsn_env} to a PostgreSQL connection URL")
        for tool in ("pg_dump", "pg_restore", "psql"):
            if shutil.which(tool) is None:
                raise TargetError(f"{tool} not found on PATH (install postgresql-client)")

    def _psql(self, dsn: str, sql: str) -> str:
        out = subprocess.run(
            ["psql", dsn, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode:
            raise TargetError(
                f"psql: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else 'failed'}"
            )
        return out.stdout.strip()

    def digest(self, dsn: str | None = None) -> str:
        return self._psql(dsn or self.dsn, self._DIGEST_SQL)

    def verify_backup(self) -> BackupCheck:
        """pg_dump, restore into a scratch database, compare table counts and checksums."""
        scratch = f"launchlib_verify_{int(time.time() * 1000)}"
        base, _, _ = self.dsn.rpartition("/")
        scratch_dsn = f"{base}/{scratch}"
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "backup.dump"
            run = subprocess.run(
                ["pg_dump", "-Fc", "-f", str(dump), self.dsn], capture_output=True, text=True
            )
            if run.returncode:
                raise TargetError(f"pg_dump: {run.stderr.strip()}")
            self._psql(self.dsn, f'CREATE DATABASE "{scratch}"')
            try:
                run = subprocess.run(
                    ["pg_restore", "--no-owner", "-d", scratch_dsn, str(dump)], capture_output=True, text=True
                )
                if run.returncode:
                    raise TargetError(f"pg_restore: {run.stderr.strip()}")
                source, restored = self.digest(), self.digest(scratch_dsn)
                size = dump.stat().st_size
            finally:
                self._psql(self.dsn, f'DROP DATABASE IF EXISTS "{scratch}"')
        ok = source == restored and bool(source)
        tables = len(source.split(",")) if source else 0
        return BackupCheck(
            ok,
            f"pg_dump of {tables} tables ({size} bytes) restored into"
            f" {scratch}: {'identical' if ok else 'DIFFERENT'} row counts and checksums",
            scratch,
            source,
            restored,
        )
