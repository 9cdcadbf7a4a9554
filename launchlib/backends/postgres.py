"""A real PostgreSQL database as database backend: backups verified, restored for a rollback.

Backups are verified with ``pg_dump`` / ``pg_restore`` / ``psql``: restored into a scratch
database, every table's row count and checksum compared, the scratch database dropped.
The connection URL comes from an environment variable; its password never reaches a command
line (where ``ps`` would show it) or a message: the tools get it as ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from launchlib.backends.base import BackupCheck
from launchlib.errors import TargetError

__all__ = ["PostgresDatabase", "mask_dsn", "split_password", "with_dbname"]

_KV_PASSWORD = re.compile(r"(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def split_password(dsn: str) -> tuple[str, str | None]:
    """``dsn`` without its password, and the password (URL or ``key=value`` form)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn, None
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host)), unquote(parts.password)
    m = _KV_PASSWORD.search(dsn)
    if m is None:
        return dsn, None
    value = m.group(2)
    if value.startswith("'"):
        value = value[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return (dsn[: m.start()] + m.group(1) + dsn[m.end() :]).strip(), value


def mask_dsn(dsn: str) -> str:
    """``dsn`` as it may be shown: the password replaced by ``***``."""
    bare, password = split_password(dsn)
    if password is None:
        return dsn
    if "://" in dsn:
        parts = urlsplit(bare)
        user, host = parts.netloc.rsplit("@", 1) if "@" in parts.netloc else ("", parts.netloc)
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    return f"{bare} password=***"


def with_dbname(dsn: str, dbname: str) -> str:
    """``dsn`` pointing at another database: a URL's path replaced, or ``dbname=`` appended (last wins)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return urlunsplit(parts._replace(path=f"/{dbname}"))
    return f"{dsn} dbname={dbname}"


class PostgresDatabase:
    """A real PostgreSQL database, reached by a connection URL kept in an environment variable.

    Backups are ``pg_dump -Fc`` files kept in ``backups_dir`` (the run folder's ``backups/``)
    with their digest beside them, so the database rollback restores the backup verified before
    the launch, as the plan's procedure does with ``pg_dump`` / ``psql``.
    """

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

    def __init__(
        self,
        dsn_env: str = "LAUNCHLIB_DATABASE_URL",
        dsn: str | None = None,
        backups_dir: Path | None = None,
    ) -> None:
        self.dsn, self._password = split_password(dsn or os.environ.get(dsn_env, ""))
        if not self.dsn:
            raise TargetError(f"no database: set {dsn_env} to a PostgreSQL connection URL")
        for tool in ("pg_dump", "pg_restore", "psql"):
            if shutil.which(tool) is None:
                raise TargetError(f"{tool} not found on PATH (install postgresql-client)")
        self.backups_dir = backups_dir

    def _tool(self, *cmd: str) -> str:
        env = dict(os.environ) | ({"PGPASSWORD": self._password} if self._password is not None else {})
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=600, env=env)
        if out.returncode:
            lines = out.stderr.strip().splitlines()
            raise TargetError(f"{cmd[0]}: {lines[-1] if lines else f'exit {out.returncode}'}")
        return out.stdout.strip()

    def _psql(self, dsn: str, sql: str) -> str:
        return self._tool("psql", dsn, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)

    def digest(self, dsn: str | None = None) -> str:
        """Every user table's row count and content checksum, one string to compare."""
        return self._psql(dsn or self.dsn, self._DIGEST_SQL)

    def _dump(self, folder: Path, name: str) -> Path:
        path = folder / f"{name}.dump"
        self._tool("pg_dump", "-Fc", "-f", str(path), self.dsn)
        return path

    def backup(self) -> dict[str, Any]:
        """A pg_dump kept in ``backups_dir``, its digest written beside it."""
        folder = self._backups()
        n = len(list(folder.glob("pg-*.dump"))) + 1  # ids sort in the order taken
        bid = f"pg-{n:04d}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        digest = self.digest()
        path = self._dump(folder, bid)
        path.with_suffix(".digest").write_text(digest)
        return {"backup_id": bid, "digest": digest, "bytes": path.stat().st_size, "path": str(path)}

    def _backups(self) -> Path:
        if self.backups_dir is None:
            raise TargetError("PostgreSQL backups need a folder (the run folder's backups/)")
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        return self.backups_dir

    def verify_backup(self) -> BackupCheck:
        """Back up, restore into a scratch database, compare table counts and checksums."""
        with tempfile.TemporaryDirectory() as tmp:
            if self.backups_dir is not None:
                taken = self.backup()
                bid, source = taken["backup_id"], taken["digest"]
                dump = Path(taken["path"])
            else:
                bid, source = "scratch", self.digest()
                dump = self._dump(Path(tmp), "backup")
            if not source:
                return BackupCheck(
                    False, "no user tables to back up: is this the right database?", bid, "", ""
                )
            scratch = f"launchlib_verify_{time.time_ns() // 1000}"
            scratch_dsn = with_dbname(self.dsn, scratch)
            self._psql(self.dsn, f'CREATE DATABASE "{scratch}"')
            try:
                self._tool("pg_restore", "--no-owner", "-d", scratch_dsn, str(dump))
                restored = self.digest(scratch_dsn)
            finally:
                self._psql(self.dsn, f'DROP DATABASE IF EXISTS "{scratch}"')
            size = dump.stat().st_size
        ok = source == restored
        return BackupCheck(
            ok,
            f"pg_dump {bid} of {len(source.split(','))} tables ({size} bytes) restored into a scratch"
            f" database: {'identical' if ok else 'DIFFERENT'} row counts and checksums",
            bid,
            source,
            restored,
        )

    def restore(self, backup_id: str | None = None) -> dict[str, Any]:
        """The database rollback: dump the current state for forensics, restore a backup (latest)."""
        folder = self._backups()
        dumps = sorted(p.stem for p in folder.glob("pg-*.dump"))
        bid = backup_id or (dumps[-1] if dumps else "")
        if bid not in dumps:
            raise TargetError(f"{folder}: no backup {bid!r} to restore (known: {', '.join(dumps) or 'none'})")
        forensic = self._dump(folder, f"pre-restore-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
        dump = folder / f"{bid}.dump"
        self._tool(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--no-owner",
            "-d",
            self.dsn,
            str(dump),
        )
        digest = self.digest()
        expected = dump.with_suffix(".digest").read_text() if dump.with_suffix(".digest").exists() else ""
        return {
            "backup_id": bid,
            "digest": digest,
            "restored": True,
            "matches_backup": digest == expected,
            "forensic_dump": forensic.name,
        }
