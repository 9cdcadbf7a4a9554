"""What every deployment and database backend offers: the protocols notebooks and the runner use.

Notebooks and the runner call these and never branch on where the target lives: the simulator
(:mod:`launchlib.backends.simulated`), a docker compose project (:mod:`launchlib.backends.docker`),
a PostgreSQL database (:mod:`launchlib.backends.postgres`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from launchlib.errors import TargetError
from launchlib.probing.target import Target

__all__ = ["BackupCheck", "Database", "Deployer", "wait_release"]


class Deployer(Protocol):
    """Deploys and rolls back releases of the target."""

    def releases(self) -> dict[str, str]:
        """The releases the backend can run (``previous``, ``candidate``)."""
        ...

    def deploy(self, release: str) -> dict[str, Any]: ...

    def rollback(self, procedure: str) -> dict[str, Any]:
        """Back to the previous release by ``procedure`` (``emergency`` or ``controlled``)."""
        ...

    def wait_serving(self, release: str, timeout_s: float = 30.0) -> float:
        """Until ``release`` answers; the wall time it first did."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackupCheck:
    """A backup taken, restored elsewhere and compared with the source."""

    ok: bool
    detail: str
    backup_id: str
    source_digest: str
    restored_digest: str


class Database(Protocol):
    """The target's data: backed up, verified in a scratch copy, restored."""

    def backup(self) -> dict[str, Any]: ...

    def verify_backup(self) -> BackupCheck: ...

    def restore(self, backup_id: str | None = None) -> dict[str, Any]: ...


def wait_release(target: Target, release: str, timeout_s: float = 30.0) -> float:
    """Poll ``/version`` until ``release`` answers; returns the wall time it first did."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=target.base_url, timeout=2.0) as c:
        while time.monotonic() < deadline:
            try:
                r = c.get("/version")
                if r.status_code == 200 and r.json().get("release") == release:
                    return time.time()
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
    raise TargetError(f"{target.base_url}: release {release!r} not serving after {timeout_s:.0f} s")
