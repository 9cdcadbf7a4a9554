"""The trading service's books in a real PostgreSQL, for a simulator standing in a staging stack.

With a database URL (``launchlib sim serve --database-url``, or ``LAUNCHLIB_SIM_DATABASE_URL`` in
its image) the integrity endpoint stops being simulated: it asks PostgreSQL whether positions
and ledger agree (``psql``, as the kit's backup and restore do), at most every ``every_s``
seconds, so a probe at 100 requests/s costs the database a few queries a second. Corrupt the
tables and it answers 409; restore the backup and it answers 200 again.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["AGREE_SQL", "Books"]

AGREE_SQL = (
    "select (select coalesce(sum(quantity), 0) from positions)"
    " = (select coalesce(sum(quantity), 0) from ledger),"
    " (select md5(coalesce(string_agg(account || ':' || quantity, ',' order by account), ''))"
    " from positions)"
)


class Books:
    """Whether positions and ledger agree in the database at ``url``, with the positions' digest
    (None: the database cannot be asked)."""

    def __init__(self, url: str, every_s: float = 0.5, timeout_s: float = 5.0) -> None:
        self.url, self.every_s, self.timeout_s = url, every_s, timeout_s
        self._said: tuple[float, tuple[bool, str] | None] = (-1e18, None)
        self._lock = asyncio.Lock()

    async def agree(self) -> tuple[bool, str] | None:
        async with self._lock:  # one query in flight, whatever the request rate
            at, said = self._said
            if time.monotonic() - at < self.every_s:
                return said
            said = await self._ask()
            self._said = (time.monotonic(), said)
            return said

    async def _ask(self) -> tuple[bool, str] | None:
        try:
            proc = await asyncio.create_subprocess_exec(
                "psql",
                "-X",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                self.url,
                "-c",
                AGREE_SQL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except (OSError, TimeoutError):
            return None
        agree, _, digest = out.decode().strip().partition("|")
        return None if proc.returncode or agree not in ("t", "f") else (agree == "t", digest)
