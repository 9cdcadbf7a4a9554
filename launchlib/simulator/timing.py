"""What the simulator says about its own timing, per response: its time, and how late its loop ran.

``X-Server-Time-Ms`` is the time from the request reaching the app to its response.
``X-Sim-Loop-Lag-Ms`` is how late the simulator's event loop has run since it started, in total:
a ticker wakes every ``TICK_S`` and adds up how much later than due it woke (less the timers'
ordinary jitter), including the tick overdue right now, so a response sent just after a stall
already counts it. A client takes the difference between the total it saw before sending and the
total on the response: how long the simulator's loop was held up while its request was out,
wherever the request was waiting (to be read, in a handler, to be written).

The simulator's faults and latency model only ever ``await asyncio.sleep``, so a late loop is
never the simulated service's doing: it is the rehearsal's host (a busy CPU, another thread
holding the GIL) holding it up. The sampler treats such a latency as it treats one measured while
its own loop stalled: the host's, not judged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["LoopLag", "ServerTiming"]

TICK_S = 0.005
JITTER_S = 0.002  # a timer wakes up to ~1-2 ms late on an idle host: not a stall


class LoopLag:
    """Accumulated lateness of the running event loop, in ms (see the module doc)."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.total_ms = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._due = 0.0  # when the pending tick is due, on the loop's clock

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop it measures (``None`` before the first request)."""
        return self._loop

    def now_ms(self) -> float:
        """The total so far, with the pending tick's lateness if it is overdue (call in the loop)."""
        late = (self._loop.time() - self._due) if self._loop is not None else 0.0
        return self.total_ms + max(0.0, late - JITTER_S) * 1000.0

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
            self.total_ms += max(0.0, loop.time() - due - JITTER_S) * 1000.0


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
        if lag is not None:
            lag.ensure_running()
        started = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000.0
                headers = [*message.get("headers", []), (b"x-server-time-ms", f"{ms:.3f}".encode())]
                if lag is not None:
                    headers.append((b"x-sim-loop-lag-ms", f"{lag.now_ms():.1f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, timed_send)
