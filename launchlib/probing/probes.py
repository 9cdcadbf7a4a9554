"""Checks of a target over HTTP (httpx): health, role smoke tests, version.

Each probe returns a :class:`CheckResult` and never raises for a target problem: an
unreachable target is a failed check with its reason, recorded as data.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from launchlib.probing.target import Target

__all__ = [
    "CheckResult",
    "check_devops",
    "check_health",
    "check_risk",
    "check_security",
    "check_smoke",
    "check_trading",
    "check_version",
    "json_body",
]


@dataclass
class CheckResult:
    """Outcome of one automated check, with what was measured."""

    name: str
    passed: bool
    detail: str
    value: float | None = None
    duration_ms: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client(target: Target) -> httpx.Client:
    return httpx.Client(base_url=target.base_url, headers=target.headers, timeout=target.timeout_s)


def _call(
    client: httpx.Client, method: str, path: str, **kw: Any
) -> tuple[httpx.Response | None, str, float]:
    t = time.perf_counter()
    try:
        r = client.request(method, path, **kw)
        return r, "", (time.perf_counter() - t) * 1000.0
    except httpx.HTTPError as exc:
        return (
            None,
            f"{method} {path}: no response ({type(exc).__name__})",
            (time.perf_counter() - t) * 1000.0,
        )


def check_health(target: Target) -> CheckResult:
    """Every component reports ``ok`` on ``/health``."""
    with _client(target) as c:
        r, err, ms = _call(c, "GET", "/health")
    if r is None:
        return CheckResult("health", False, err, duration_ms=ms)
    try:
        comps = r.json().get("components", {})
    except ValueError:
        return CheckResult("health", False, f"/health answered {r.status_code} without JSON", duration_ms=ms)
    bad = {k: v for k, v in comps.items() if v != "ok"}
    ok = r.status_code == 200 and not bad and bool(comps)
    detail = "all components healthy" if ok else f"/health {r.status_code}: {bad or 'no components'}"
    return CheckResult("health", ok, detail, duration_ms=ms, data={"components": comps})


def json_body(r: httpx.Response, *keys: str) -> dict[str, Any] | None:
    """The response's JSON object when it has ``keys``; ``None`` for anything else (not the service)."""
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and all(k in data for k in keys) else None


def _not_the_service(name: str, r: httpx.Response, ms: float, what: str) -> CheckResult:
    return CheckResult(
        name,
        False,
        f"{what} answered {r.status_code} without the expected JSON: not the service?",
        duration_ms=ms,
    )


def check_version(target: Target, expected: str) -> CheckResult:
    """The running release is ``expected``."""
    with _client(target) as c:
        r, err, ms = _call(c, "GET", "/version")
    if r is None:
        return CheckResult("version", False, err, duration_ms=ms)
    body = json_body(r, "release")
    if r.status_code == 200 and body is None:
        return _not_the_service("version", r, ms, "GET /version")
    # a failing service still names its release in its header: say what is running
    release = body["release"] if body is not None and r.status_code == 200 else r.headers.get("x-release")
    ok = r.status_code == 200 and release == expected
    state = "" if r.status_code == 200 else f" (answering {r.status_code})"
    return CheckResult(
        "version",
        ok,
        f"running {release!r}{state}, expected {expected!r}",
        duration_ms=ms,
        data={"release": release, "status": r.status_code},
    )


def check_trading(target: Target) -> CheckResult:
    """Trading: an order is placed (201 with an id) and cancelled (200)."""
    with _client(target) as c:
        r, err, ms = _call(
            c, "POST", "/api/orders", json={"symbol": "BTCUSDT", "side": "buy", "quantity": 0.001}
        )
        if r is None or r.status_code != 201:
            return CheckResult(
                "trading_smoke",
                False,
                err or f"place order answered {r.status_code if r else 0}",
                value=ms,
                duration_ms=ms,
            )
        placed = json_body(r, "order_id")
        if placed is None:
            return _not_the_service("trading_smoke", r, ms, "POST /api/orders")
        oid = placed["order_id"]
        r2, err2, ms2 = _call(c, "DELETE", f"/api/orders/{oid}")
    ok = r2 is not None and r2.status_code == 200
    return CheckResult(
        "trading_smoke",
        ok,
        f"order {oid} placed in {ms:.0f} ms and "
        + ("cancelled" if ok else f"not cancelled ({err2 or r2.status_code if r2 else err2})"),
        value=ms,
        duration_ms=ms + ms2,
    )


def check_risk(target: Target, target_ms: float = 100.0, calls: int = 5) -> CheckResult:
    """Risk: a calculation for a position set answers 200, the median of ``calls`` within ``target_ms``.

    One call's time says more about the moment (a GC pause, a busy host) than about the service:
    every call must answer, and the median is judged.
    """
    body = {
        "positions": [
            {"symbol": "BTCUSDT", "quantity": 0.5, "price": 64000},
            {"symbol": "ETHUSDT", "quantity": -3, "price": 3100},
        ]
    }
    times: list[float] = []
    with _client(target) as c:
        for _ in range(calls):
            r, err, ms = _call(c, "POST", "/api/risk", json=body)
            if r is None or r.status_code != 200:
                return CheckResult(
                    "risk_smoke",
                    False,
                    err or f"risk answered {r.status_code if r else 0}",
                    value=ms,
                    duration_ms=ms,
                )
            if json_body(r, "var_95") is None:
                return _not_the_service("risk_smoke", r, ms, "POST /api/risk")
            times.append(ms)
    median = sorted(times)[len(times) // 2]
    return CheckResult(
        "risk_smoke",
        median < target_ms,
        f"risk calculation in {median:.0f} ms (median of {calls}; target < {target_ms:g} ms)",
        value=median,
        duration_ms=sum(times),
    )


def check_security(target: Target) -> CheckResult:
    """Security: the admin API refuses a request without a token and accepts a valid one."""
    with _client(target) as c:
        anon, err, ms = _call(c, "GET", "/admin/config")
        authed, err2, ms2 = _call(c, "GET", "/admin/config", headers=target.auth_headers())
    if anon is None or authed is None:
        return CheckResult("security", False, err or err2, duration_ms=ms + ms2)
    refused = anon.status_code in (401, 403)
    accepted = authed.status_code == 200
    ok = refused and accepted and target.admin_token() is not None
    detail = (
        f"without token: {anon.status_code} ({'refused' if refused else 'NOT refused'}); "
        f"with token: {authed.status_code} ({'accepted' if accepted else 'not accepted'})"
    )
    if target.admin_token() is None:
        detail += f"; no token in ${target.token_env}"
    return CheckResult(
        "security",
        ok,
        detail,
        duration_ms=ms + ms2,
        data={"anonymous": anon.status_code, "authenticated": authed.status_code},
    )


def check_devops(target: Target, expected_release: str) -> CheckResult:
    """DevOps: every component healthy and the expected release running."""
    h, v = check_health(target), check_version(target, expected_release)
    return CheckResult(
        "devops", h.passed and v.passed, f"{h.detail}; {v.detail}", duration_ms=h.duration_ms + v.duration_ms
    )


def check_smoke(target: Target) -> CheckResult:
    """Automated smoke tests: every public endpoint answers without a server error."""
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/health", {}),
        ("GET", "/api/market", {}),
        ("POST", "/api/risk", {"json": {}}),
        ("GET", "/api/integrity", {}),
        ("GET", "/version", {}),
    ]
    failed, total = [], 0.0
    with _client(target) as c:
        for method, path, kw in calls:
            r, err, ms = _call(c, method, path, **kw)
            total += ms
            if r is None or r.status_code >= 400:
                failed.append(err or f"{method} {path} {r.status_code if r else 0}")
    trading = check_trading(target)
    if not trading.passed:
        failed.append(trading.detail)
    ok = not failed
    return CheckResult(
        "smoke",
        ok,
        "all endpoints answered" if ok else "; ".join(failed),
        duration_ms=total + trading.duration_ms,
    )
