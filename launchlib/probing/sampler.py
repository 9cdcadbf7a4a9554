"""Open-loop, fixed-rate sampling of a target's endpoints with asyncio and httpx.

Requests go out on a fixed schedule whatever the server does, and latency is measured from
the *intended* send time, so a stalled server cannot hide its latency (no coordinated
omission). One row per request: ``ts, endpoint, latency_ms, status, release`` (status 0 when
no response: refused, reset, timeout), plus ``server_ms`` where the target reports its own
timing. The sampler also measures its own CPU share: above ~70 % its latencies are suspect.

Each endpoint has a client (connection pool) of its own, with few idle connections kept: httpcore's
pool scans every connection for every idle one on each request (quadratic in the pool's size), so
one pool grown to hundreds of connections by a burst of slow responses cost the client more CPU
per request than the schedule leaves, and a 1-s hiccup became 15 s of "latency" the service
never had (``bench/README.md``, "The client's own connection pool").
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import gc
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pandas as pd

from launchlib.probing.target import Target
from launchlib.simulator.timing import SENT_HEADER

__all__ = [
    "COLUMNS",
    "DEFAULT_ENDPOINTS",
    "Endpoint",
    "SampleRun",
    "Sampler",
    "sample",
    "samples_frame",
    "write_samples",
]

CPU_SUSPECT = 0.70
WAKE_EARLY_S = 0.0015
#: the longest another thread of this interpreter may hold the GIL while the sampler waits for it.
#: Python's default (5 ms) lets one CPU-bound thread (papermill, the kernel client) delay every
#: response the sampler reads, and every one an in-process simulator writes, by up to 5 ms per
#: hand-off: on a busy host that compounds into seconds of "latency" the service never had
#: (bench/gil_bench.py).
SWITCH_INTERVAL_S = 0.001
#: idle connections an endpoint's pool keeps: enough for a slow but serving endpoint at the
#: monitor's rate; a burst's extra connections are closed once idle, so the pool stays small
KEEPALIVE_PER_ENDPOINT = 16


@dataclass(frozen=True)
class Endpoint:
    """One sampled request: method, path, optional JSON body."""

    path: str
    method: str = "GET"
    json: dict[str, Any] | None = None


DEFAULT_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/health"),
    Endpoint("/api/market"),
    Endpoint("/api/orders", "POST", {}),
    Endpoint("/api/risk", "POST", {}),
    Endpoint("/api/integrity"),
    Endpoint("/admin/config"),  # without credentials: a 2xx here is a security breach
)


class Row(NamedTuple):
    """One scheduled request, as the samples table holds it (the :data:`COLUMNS`, in order)."""

    ts: float  # when it was due (epoch s): open-loop, so a slow answer never delays the next
    endpoint: str
    latency_ms: float  # NaN when nothing answered
    status: int  # 0: no answer (refused, reset, timed out)
    release: str  # the release that answered ("" when none did)
    server_ms: float  # the service's own time, when it says (x-server-time-ms)
    client_stall_ms: float  # how late this client's loop (or the embedded simulator's) ran meanwhile


COLUMNS = list(Row._fields)  # the samples table, one column per field of a row


#: a response still to be finished into a Row: (row without its stall, send time, receive time,
#: how long the embedded simulator's loop was held up meanwhile)
_Raw = tuple[tuple[float, str, float, int, str, float], float, float, float]


@dataclass
class SampleRun:
    """What a sampling run achieved: rows, schedule accuracy and the client's own load."""

    rows: list[Row] = field(default_factory=list)
    scheduled: int = 0
    wall_s: float = 0.0
    cpu_share: float = 0.0
    max_send_lag_ms: float = 0.0
    send_span_s: float = 0.0

    @property
    def achieved_rate(self) -> float:
        """Requests sent per second over the sending period (the schedule's accuracy)."""
        return self.scheduled / self.send_span_s if self.send_span_s else 0.0

    @property
    def suspect(self) -> bool:
        """The client was too busy for its latencies to be trusted."""
        return self.cpu_share > CPU_SUSPECT

    def frame(self) -> pd.DataFrame:
        return samples_frame(self.rows)


def samples_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """Rows as the samples table (the :data:`COLUMNS`: one raw fact per scheduled request)."""
    df = pd.DataFrame(list(rows), columns=COLUMNS)
    return df.astype(
        {
            "ts": "float64",
            "endpoint": "string",
            "latency_ms": "float64",
            "status": "int64",
            "release": "string",
            "server_ms": "float64",
            "client_stall_ms": "float64",
        }
    ).sort_values("ts", kind="stable", ignore_index=True)


def write_samples(df: pd.DataFrame, path: Path | str) -> Path:
    """Write samples as Parquet or CSV, by the file's suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


class Sampler:
    """Fixed-rate sampler; :meth:`run` until ``duration_s`` passes or :meth:`stop` is called."""

    def __init__(
        self,
        target: Target,
        rate: float,
        endpoints: Sequence[Endpoint] = DEFAULT_ENDPOINTS,
        on_rows: Callable[[list[Row]], None] | None = None,
        flush_s: float = 0.5,
        max_connections: int | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("sampling rate must be positive")
        self.target = target
        self.rate = rate
        self.endpoints = list(endpoints)
        self.on_rows = on_rows
        self.flush_s = flush_s
        # every request in flight needs a connection: a pool smaller than its endpoint's rate ×
        # timeout makes requests wait for each other when some hang, and that wait would count as
        # latency. Per endpoint: each endpoint has a pool of its own (see the module doc).
        per_endpoint = rate / max(1, len(self.endpoints))
        self.max_connections = max_connections or max(16, math.ceil(per_endpoint * target.timeout_s) + 8)
        self.heartbeat = time.monotonic()  # the send loop's last turn: a stalled loop is a dead monitor
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def clients(self) -> list[httpx.AsyncClient]:
        """One client per endpoint, in the endpoints' order (see the module doc for why)."""
        limits = httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=min(self.max_connections, KEEPALIVE_PER_ENDPOINT),
        )
        tls = httpx.create_ssl_context()  # loaded once (tens of ms), shared by the endpoints' clients
        return [
            httpx.AsyncClient(
                base_url=self.target.base_url,
                headers=self.target.headers,
                limits=limits,
                timeout=httpx.Timeout(self.target.timeout_s),
                verify=tls,
            )
            for _ in self.endpoints
        ]

    async def _one(
        self, client: httpx.AsyncClient, ep: Endpoint, due: float, epoch_due: float, out: list[_Raw]
    ) -> None:
        status, latency, release, server, sim_lag = 0, math.nan, "", math.nan, 0.0
        try:
            sent = {SENT_HEADER: f"{epoch_due:.6f}"}  # the embedded simulator's lag is since then
            r = await client.request(ep.method, ep.path, json=ep.json, headers=sent)
            latency = (time.perf_counter() - due) * 1000.0
            status = r.status_code
            release = r.headers.get("x-release", "")
            server = float(r.headers.get("x-server-time-ms", "nan"))
            sim_lag = _number(r.headers.get("x-sim-loop-lag-ms"))
        except httpx.HTTPError:
            pass  # no response: refused, reset or timed out, recorded as status 0
        finally:  # also when cancelled at the end of a run: every scheduled request is a row
            got = time.perf_counter()
            out.append(((epoch_due, ep.path, latency, status, release, server), due, got, sim_lag))

    def _finish(self, raw: list[_Raw], sends: list[tuple[float, float]], final: bool) -> list[Row]:
        """Rows with their ``client_stall_ms``: the longest the send loop was late while each request
        was in flight (and one send interval after). A loop held up (a busy host, a process holding
        the GIL) delays reading responses too: that latency is the client's, not the service's.
        When the embedded simulator's own loop was held up longer meanwhile (the same host, busy),
        that is the stall: the latency is the host's either way.
        Responses whose window is not yet closed by a later send wait for the next flush."""
        times = [t for t, _ in sends]
        horizon = times[-1] if times else 0.0
        step = 1.0 / self.rate
        done, keep = [], []
        for row, sent, got, sim_lag in raw:
            if not final and got + step > horizon:
                keep.append((row, sent, got, sim_lag))
                continue
            lo, hi = bisect.bisect_right(times, sent), bisect.bisect_right(times, got + step)
            stall = max(sim_lag, max((lag for _, lag in sends[lo:hi]), default=0.0))
            done.append(Row(*row, round(stall, 2)))
        raw[:] = keep
        return done

    async def run(self, duration_s: float | None = None) -> SampleRun:
        """Sample on schedule; returns every row (also passed to ``on_rows`` as they come).

        Lowers the interpreter's GIL switch interval to :data:`SWITCH_INTERVAL_S` (process-wide,
        never raised again): a measuring client must not wait on its own process's other threads.
        """
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        gc.freeze()  # long-lived objects out of the collector's way: no multi-ms pauses mid-run
        try:
            return await self._run(duration_s)
        finally:
            gc.unfreeze()

    async def _run(self, duration_s: float | None) -> SampleRun:
        result = SampleRun()
        pending: list[_Raw] = []
        sends: list[tuple[float, float]] = []  # (when, how late in ms) of every send still relevant
        tasks: set[asyncio.Task[None]] = set()
        cpu0 = time.process_time()
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(c) for c in self.clients()]
            # the schedule starts once the clients exist: their set-up is not the service's latency
            start, epoch_start = time.perf_counter() + 0.05, time.time() + 0.05
            last_flush = start
            i = 0
            try:
                while not self._stop.is_set():
                    self.heartbeat = time.monotonic()
                    offset = i / self.rate
                    if duration_s is not None and offset >= duration_s:
                        break
                    due = start + offset
                    delay = due - time.perf_counter()
                    if delay > WAKE_EARLY_S:
                        # the event loop's timers wake up to ~1 ms late (epoll rounds to ms): wake
                        # early, then yield until due, so the client's lag is not counted as latency
                        await asyncio.sleep(delay - WAKE_EARLY_S)
                    while time.perf_counter() < due:
                        await asyncio.sleep(0)
                    now = time.perf_counter()
                    lag_ms = (now - due) * 1000.0
                    result.max_send_lag_ms = max(result.max_send_lag_ms, lag_ms)
                    sends.append((now, lag_ms))
                    k = i % len(self.endpoints)
                    ep, client = self.endpoints[k], clients[k]
                    task = asyncio.create_task(self._one(client, ep, due, epoch_start + offset, pending))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    i += 1
                    if due - last_flush >= self.flush_s and pending:
                        batch = self._finish(pending, sends, final=False)
                        oldest = min((raw[1] for raw in pending), default=now)
                        del sends[: bisect.bisect_left(sends, (oldest - 1.0, -math.inf))]
                        result.rows += batch
                        if self.on_rows and batch:
                            self.on_rows(batch)
                        last_flush = due
                result.send_span_s = time.perf_counter() - start
                if tasks:
                    await asyncio.wait(tasks, timeout=self.target.timeout_s + 1.0)
            finally:  # also when on_rows raised: no request outlives the client
                left = list(tasks)
                for task in left:
                    task.cancel()
                await asyncio.gather(*left, return_exceptions=True)
        rest = self._finish(pending, sends, final=True)
        result.rows += rest
        if self.on_rows and rest:
            self.on_rows(rest)
        result.scheduled = i
        result.wall_s = time.perf_counter() - start
        result.cpu_share = (time.process_time() - cpu0) / result.wall_s if result.wall_s > 0 else 0.0
        result.rows.sort(key=lambda r: r.ts)
        return result


def _number(header: str | None) -> float:
    """A header's number, 0 when absent or not a finite number (a target that does not say)."""
    try:
        value = float(header) if header is not None else 0.0
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def sample(
    target: Target, rate: float, duration_s: float, endpoints: Sequence[Endpoint] = DEFAULT_ENDPOINTS
) -> SampleRun:
    """Blocking convenience: sample for ``duration_s`` at ``rate`` requests/s in all."""
    coro = Sampler(target, rate, endpoints).run(duration_s)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # inside a running loop (a Jupyter kernel): run the sampler's own loop in a thread
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
