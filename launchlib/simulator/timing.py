"""What the simulator says about its own timing, per response: its time, and how late its loop ran.

``X-Server-Time-Ms`` is the time from the request reaching the app to its response.
``X-Sim-Loop-Lag-Ms`` is the longest the simulator's event loop was held up since the client sent
the request (its ``X-Launchlib-Sent``, an epoch time; the simulator shares the client's host and
clock), else since the request reached the app: a ticker wakes every ``TICK_S`` and keeps each
wake that came later than the timers' ordinary jitter; the tick overdue right now counts too, so
a response sent just after a stall already carries it. The *longest* single lateness, as the
sampler's own ``client_stall_ms``: a sum would grow with a slow request's duration (a 700-ms
request under load spans 140 ticks a millisecond late each, which is no stall).

The simulator's faults and latency model only ever ``await asyncio.sleep``, so a late loop is
never the simulated service's doing: it is the rehearsal's host (a busy CPU, another thread
holding the GIL) holding it up. The sampler treats such a latency as it treats one measured while
its own loop stalled: the host's, not judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

__all__ = ["SENT_HEADER", "LoopLag", "ServerTiming"]

SENT_HEADER = "x-launchlib-sent"
TICK_S = 0.005
JITTER_S = 0.002  # a timer wakes up to ~1-2 ms late on an idle host: not a stall
KEEP_S = 120.0  # late wakes older than any request's time out are dropped


class LoopLag:
    """The event loop's late wakes, (wall time, ms late), and the worst since a time."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self._late: deque[tuple[float, float]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._due = 0.0  # when the pending tick is due, on the loop's clock

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop it measures (``None`` before the first request)."""
        return self._loop

    def worst_since(self, wall: float) -> float:
        """The longest lateness (ms) of a wake at or after ``wall``, the overdue tick included."""
        overdue = (self._loop.time() - self._due) if self._loop is not None else 0.0
        worst = overdue * 1000.0 if overdue > JITTER_S else 0.0
        for at, ms in reversed(self._late):
            if at < wall:
                break
            worst = max(worst, ms)
        return worst

    def ensure_running(self) -> None:
        """Start the ticker in the running loop (once per loop: a restarted server has a new one)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop, self._due = loop, loop.time() + self.tick_s
            self._task = loop.create_task(self._tick(), name="launchlib-sim-loop-lag")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = due = loop.time() + self.tick_s
            await asyncio.sleep(self.tick_s)
            late = loop.time() - due
            if late > JITTER_S:
                now = time.time()
                self._late.append((now, late * 1000.0))
                while self._late[0][0] < now - KEEP_S:
                    self._late.popleft()


class ServerTiming:
    """ASGI middleware: the timing headers of the module doc on every HTTP response (the loop's
    lag only when given a :class:`LoopLag`)."""

    def __init__(self, app: Any, lag: LoopLag | None = None) -> None:
        self.app = app
        self.lag = lag

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lag = self.lag
        since = time.time()
        if lag is not None:
            lag.ensure_running()
            sent = next((v for k, v in scope.get("headers", []) if k == SENT_HEADER.encode()), None)
            with contextlib.suppress(ValueError):  # not a time: since the request's arrival
                since = min(since, float(sent)) if sent is not None else since
        started = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000.0
                headers = [*message.get("headers", []), (b"x-server-time-ms", f"{ms:.3f}".encode())]
                if lag is not None:
                    headers.append((b"x-sim-loop-lag-ms", f"{lag.worst_since(since):.1f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, timed_send)
