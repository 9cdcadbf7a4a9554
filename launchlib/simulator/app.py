"""The simulated trading platform: a real ASGI app with two releases and fault injection.

It mimics the reference system (methtrader.xyz) over HTTP: health per component, market
quotes, order placement and cancellation, risk calculation, an integrity check, an admin
endpoint behind a bearer token, ``/version`` and Prometheus ``/metrics``. Latency is drawn
per endpoint from a seeded log-normal with a long tail. A loopback-only control API under
``/_sim/`` deploys a release, rolls back, injects faults and arms the launch clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from launchlib.simulator.database import Books
from launchlib.simulator.scenarios import Binding, Fault, FaultKind, active_effect
from launchlib.simulator.timing import LoopLag, ServerTiming

__all__ = ["EXPORTED_METRICS", "LATENCY_MS", "SimConfig", "SimState", "create_app"]

#: median latency per endpoint (ms); the tail is log-normal plus rare 2-4x stalls
LATENCY_MS = {
    "/health": 2.0,
    "/api/market": 30.0,
    "/api/orders": 20.0,
    "/api/orders/{id}": 15.0,
    "/api/risk": 40.0,
    "/api/integrity": 8.0,
    "/admin/config": 3.0,
    "/version": 0.5,
    "/metrics": 1.0,
}
COMPONENTS = ("api", "trading_engine", "risk_engine", "database", "market_feed")
HANG_S = 30.0
#: the metric names /metrics exports (the default PromQL of a plan reads them)
EXPORTED_METRICS = frozenset(
    {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    }
)
BUCKETS = (
    0.0025,
    0.005,
    0.01,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
    0.06,
    0.075,
    0.1,
    0.125,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
)


@dataclass
class SimConfig:
    """Simulator settings; ``compress`` launch seconds pass per real second."""

    seed: int = 7
    previous: str = "prod-rollback"
    candidate: str = "v1.0-prod-ready"
    restart_s: float = 1.0
    compress: float = 1.0
    admin_token: str = "sim-admin-token"
    tail_sigma: float = 0.25
    stall_share: float = 0.02
    # ``X-Sim-Loop-Lag-Ms`` on every response (``launchlib.simulator.timing``): for a simulator on
    # the rehearsal's own host, where a busy host is not the service. Not in a container standing
    # in for a real stack: there a paused container is a fault, and it looks the same from inside.
    report_loop_lag: bool = False
    # a real PostgreSQL holding the books (a staging stack): the integrity check asks it
    database_url: str = ""


@dataclass
class SimState:
    """Everything the simulator knows; mutated only by the control API and requests."""

    config: SimConfig
    release: str = ""
    restart_until: float = 0.0
    t0: float | None = None
    faults: list[Fault] = field(default_factory=list)
    repaired: set[int] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    backups: dict[str, str] = field(default_factory=dict)
    backup_data: dict[str, list[str]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    order_seq: int = 0

    def __post_init__(self) -> None:
        self.release = self.release or self.config.previous
        self.rng = random.Random(self.config.seed)
        self.books = Books(self.config.database_url) if self.config.database_url else None

    def launch_time(self, now: float | None = None) -> float | None:
        """Seconds since T-0 on the launch clock, or ``None`` before the clock is armed."""
        if self.t0 is None:
            return None
        return ((now or time.time()) - self.t0) * self.config.compress

    def active_faults(self) -> list[Fault]:
        return [f for i, f in enumerate(self.faults) if i not in self.repaired]

    def fault_active(self, kind: FaultKind, path: str = "/") -> bool:
        t = self.launch_time()
        return t is not None and any(
            f.kind is kind and f.applies(t, self.release, path) for f in self.active_faults()
        )

    def base_latency_ms(self, route: str) -> float:
        median = LATENCY_MS.get(route, 5.0)
        ms = median * math.exp(self.rng.gauss(0.0, self.config.tail_sigma))
        if self.rng.random() < self.config.stall_share:
            ms *= self.rng.uniform(2.0, 4.0)
        return ms

    def switch(self, release: str, event: str, **info: Any) -> dict[str, Any]:
        before, now = self.release, time.time()
        self.release = release
        self.restart_until = time.monotonic() + self.config.restart_s
        if event == "deploy" and release == self.config.candidate and self.t0 is None:
            self.t0 = now + self.config.restart_s  # T-0: the candidate comes up and serves
        rec = {"event": event, "at": now, "from": before, "to": release, **info}
        self.events.append(rec)
        return rec

    def db_digest(self, keys: list[str] | None = None) -> str:
        """Checksum of the simulated positions and ledger (what a backup captures)."""
        blob = json.dumps(
            sorted(self.orders) if keys is None else sorted(keys), separators=(",", ":")
        ).encode()
        return hashlib.sha256(blob).hexdigest()

    def snapshot(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "restarting": time.monotonic() < self.restart_until,
            "t0": self.t0,
            "launch_time_s": self.launch_time(),
            "compress": self.config.compress,
            "faults": [f.model_dump(mode="json") for f in self.active_faults()],
            "events": self.events,
            "notifications": len(self.notifications),
            "releases": {"previous": self.config.previous, "candidate": self.config.candidate},
        }


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["endpoint", "method", "status", "release"]
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Request duration by endpoint",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "http_requests", "Requests by endpoint and status", labels, registry=self.registry
        )


Handler = Callable[[Request, SimState], Awaitable[Response]]


def _serve(route: str, handler: Handler, state: SimState, metrics: _Metrics) -> Callable[..., Any]:
    """Wrap an endpoint: restart window, latency model, faults, release header, metrics."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        release = state.release
        if time.monotonic() < state.restart_until:
            resp: Response = JSONResponse({"error": "restarting"}, status_code=503)
        else:
            eff = active_effect(
                state.active_faults(), state.launch_time(), release, request.url.path, state.rng
            )
            if eff.hang:
                await asyncio.sleep(HANG_S)
            await asyncio.sleep((state.base_latency_ms(route) + eff.extra_ms) / 1000.0)
            if eff.status is not None:
                resp = JSONResponse({"error": "injected fault", "faults": eff.faults}, status_code=eff.status)
            else:
                try:
                    resp = await handler(request, state)
                except ClientDisconnect:  # the client gave up (timed out): nobody to answer
                    resp = Response(status_code=499)
        elapsed = time.perf_counter() - started
        resp.headers["X-Release"] = release
        labels = (route, request.method, str(resp.status_code), release)
        metrics.duration.labels(*labels).observe(elapsed)
        metrics.requests.labels(*labels).inc()
        return resp

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def health(request: Request, st: SimState) -> Response:
    comps = dict.fromkeys(COMPONENTS, "ok")
    if st.fault_active(FaultKind.TRADING_FAILURE, "/api/orders"):
        comps["trading_engine"] = "down"
    if st.fault_active(FaultKind.RISK_FAILURE, "/api/risk"):
        comps["risk_engine"] = "down"
    if st.fault_active(FaultKind.DATA_INTEGRITY, "/api/integrity"):
        comps["database"] = "integrity_mismatch"
    ok = all(v == "ok" for v in comps.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "release": st.release, "components": comps},
        status_code=200 if ok else 503,
    )


async def market(request: Request, st: SimState) -> Response:
    quotes = {
        s: round(p * (1 + st.rng.gauss(0, 0.001)), 2)
        for s, p in (("BTCUSDT", 64000.0), ("ETHUSDT", 3100.0), ("SOLUSDT", 145.0))
    }
    return JSONResponse({"quotes": quotes, "ts": time.time()})


async def place_order(request: Request, st: SimState) -> Response:
    try:
        body = await _body(request)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    st.order_seq += 1
    oid = f"o-{st.order_seq:08d}"
    st.orders[oid] = {
        "symbol": body.get("symbol", "BTCUSDT"),
        "side": body.get("side", "buy"),
        "quantity": body.get("quantity", 0.001),
    }
    if len(st.orders) > 10_000:  # keep memory flat in long soaks
        st.orders.pop(next(iter(st.orders)))
    return JSONResponse({"order_id": oid, "status": "accepted", **st.orders[oid]}, status_code=201)


async def cancel_order(request: Request, st: SimState) -> Response:
    oid = request.path_params["id"]
    if st.orders.pop(oid, None) is None:
        return JSONResponse({"error": f"no order {oid}"}, status_code=404)
    return JSONResponse({"order_id": oid, "status": "cancelled"})


async def risk(request: Request, st: SimState) -> Response:
    try:
        body = await _body(request)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    positions = body.get("positions") or [{"symbol": "BTCUSDT", "quantity": 0.5, "price": 64000.0}]
    exposure = sum(abs(float(p.get("quantity", 0)) * float(p.get("price", 1))) for p in positions)
    return JSONResponse(
        {"exposure": exposure, "var_95": round(exposure * 0.033, 2), "positions": len(positions)}
    )


async def integrity(request: Request, st: SimState) -> Response:
    if st.books is not None:  # a real database: its tables say, no fault is simulated
        said = await st.books.agree()
        if said is None:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        if not said[0]:
            return JSONResponse({"status": "mismatch", "positions_vs_ledger": "disagree"}, status_code=409)
        return JSONResponse({"status": "ok", "digest": said[1], "database": "postgresql"})
    if st.fault_active(FaultKind.DATA_INTEGRITY, "/api/integrity"):
        return JSONResponse({"status": "mismatch", "positions_vs_ledger": "disagree"}, status_code=409)
    return JSONResponse({"status": "ok", "digest": st.db_digest()})


async def admin_config(request: Request, st: SimState) -> Response:
    auth = request.headers.get("authorization", "")
    if not st.fault_active(FaultKind.SECURITY_BREACH, "/admin/config"):
        if not auth:
            return JSONResponse({"error": "authentication required"}, status_code=401)
        if auth != f"Bearer {st.config.admin_token}":
            return JSONResponse({"error": "forbidden"}, status_code=403)
    return JSONResponse({"release": st.release, "max_order_notional": 250000, "risk_limits": "on"})


async def version(request: Request, st: SimState) -> Response:
    return JSONResponse({"release": st.release})


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("testclient", "localhost")


def _control(state: SimState) -> list[Route]:
    async def control(request: Request) -> Response:
        if not _loopback(request):
            return JSONResponse({"error": "control API is loopback only"}, status_code=403)
        try:
            body = await _body(request) if request.method == "POST" else {}
            return JSONResponse(_command(state, request.path_params["cmd"], body))
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return [Route("/_sim/{cmd:path}", control, methods=["GET", "POST"])]


def _command(st: SimState, cmd: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply one control command; the runner and the deployment backend call these."""
    cfg = st.config
    if cmd == "state":
        return st.snapshot()
    if cmd == "deploy":
        return st.switch(body.get("release", cfg.candidate), "deploy")
    if cmd == "rollback":
        procedure = body.get("procedure", "controlled")
        if procedure == "emergency" and any(f.kind is FaultKind.BAD_ROLLBACK for f in st.active_faults()):
            return st.switch(st.release, "rollback", procedure=procedure)
        return st.switch(cfg.previous, "rollback", procedure=procedure)
    if cmd == "arm":
        st.t0 = float(body.get("t0", time.time()))
        cfg.compress = float(body.get("compress", cfg.compress))
        return st.snapshot()
    if cmd == "faults":
        if body.get("clear"):
            st.faults, st.repaired = [], set()
        st.faults += [Fault.model_validate(f) for f in body.get("faults", [])]
        return {"faults": len(st.active_faults())}
    if cmd == "db/backup":
        bid = f"b-{len(st.backups) + 1:04d}"
        st.backups[bid] = st.db_digest()
        st.backup_data[bid] = list(st.orders)
        return {"backup_id": bid, "digest": st.backups[bid], "rows": len(st.orders)}
    if cmd == "db/restore":
        bid = body.get("backup_id") or (max(st.backups) if st.backups else "")
        if bid not in st.backups:
            raise KeyError(f"no backup {bid!r}")
        for i, f in enumerate(st.faults):  # restoring data repairs corrupted infrastructure data
            if f.kind is FaultKind.DATA_INTEGRITY and f.binding is Binding.INFRASTRUCTURE:
                st.repaired.add(i)
        st.events.append({"event": "db_restore", "at": time.time(), "backup_id": bid})
        return {"backup_id": bid, "digest": st.backups[bid], "restored": True}
    if cmd == "db/verify":  # restore a backup into a scratch copy and checksum the copy
        bid = body.get("backup_id", "")
        if bid not in st.backup_data:
            raise KeyError(f"no backup {bid!r}")
        return {
            "backup_id": bid,
            "digest": st.db_digest(st.backup_data[bid]),
            "rows": len(st.backup_data[bid]),
        }
    if cmd == "notify":
        st.notifications.append({"at": time.time(), **body})
        return {"delivered": len(st.notifications)}
    raise KeyError(f"unknown control command {cmd!r}")


def create_app(config: SimConfig | None = None, faults: list[Fault] | None = None) -> Starlette:
    """The simulator as an ASGI app; ``app.state.sim`` holds its :class:`SimState`."""
    state = SimState(config or SimConfig(), faults=list(faults or []))
    metrics = _Metrics()

    async def metrics_endpoint(request: Request, st: SimState) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route(path, _serve(path, handler, state, metrics), methods=methods)
        for path, handler, methods in (
            ("/health", health, ["GET"]),
            ("/api/market", market, ["GET"]),
            ("/api/orders", place_order, ["POST"]),
            ("/api/orders/{id}", cancel_order, ["DELETE"]),
            ("/api/risk", risk, ["POST"]),
            ("/api/integrity", integrity, ["GET"]),
            ("/admin/config", admin_config, ["GET"]),
            ("/version", version, ["GET"]),
            ("/metrics", metrics_endpoint, ["GET"]),
        )
    ]
    app = Starlette(routes=routes + _control(state))
    app.state.sim = state
    app.state.loop_lag = LoopLag() if state.config.report_loop_lag else None
    app.add_middleware(ServerTiming, lag=app.state.loop_lag)
    return app
