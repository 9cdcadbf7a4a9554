"""The simulator as deployment and database backend, through its loopback control API."""

from __future__ import annotations

from typing import Any

import httpx

from launchlib.backends.base import BackupCheck, wait_release
from launchlib.errors import TargetError
from launchlib.probing.target import Target

__all__ = ["SimDatabase", "SimDeployer"]


class _SimControl:
    def __init__(self, target: Target) -> None:
        self.target = target

    def close(self) -> None:
        """Nothing held between calls (each command is one request)."""

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
        return wait_release(self.target, release, timeout_s)


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
