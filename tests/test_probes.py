"""Probes against the real simulator, healthy and faulty, and against nothing at all."""

from __future__ import annotations

import time

from launchlib.probing.probes import (
    check_devops,
    check_health,
    check_risk,
    check_security,
    check_smoke,
    check_trading,
    check_version,
)
from launchlib.probing.target import Target
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import Fault
from launchlib.simulator.server import SimServer


def test_healthy_target_passes_every_probe(sim: SimServer, monkeypatch) -> None:
    monkeypatch.setenv("SIM_TOKEN", "sim-admin-token")
    t = Target(sim.url, token_env="SIM_TOKEN")
    for result in (
        check_health(t),
        check_trading(t),
        check_risk(t),
        check_security(t),
        check_smoke(t),
        check_devops(t, "prod-rollback"),
        check_version(t, "prod-rollback"),
    ):
        assert result.passed, result
    assert not check_version(t, "v1.0-prod-ready").passed


def test_security_probe_needs_a_token(sim: SimServer, monkeypatch) -> None:
    monkeypatch.delenv("LAUNCHLIB_ADMIN_TOKEN", raising=False)
    r = check_security(Target(sim.url))
    assert not r.passed and "no token in $LAUNCHLIB_ADMIN_TOKEN" in r.detail


def test_faulty_target_fails_the_right_probes() -> None:
    faults = [
        Fault(kind="trading_failure", binding="infrastructure"),
        Fault(kind="security_breach", binding="infrastructure"),
        Fault(kind="latency", binding="infrastructure", endpoints=("/api/risk",), latency_ms=150),
    ]
    with SimServer(config=SimConfig(restart_s=0), faults=faults) as srv:
        srv.command("arm", t0=time.time())
        t = Target(srv.url, token="sim-admin-token")
        assert not check_trading(t).passed
        assert not check_health(t).passed
        assert not check_risk(t, target_ms=100).passed
        sec = check_security(t)
        assert not sec.passed and "NOT refused" in sec.detail
        assert not check_smoke(t).passed


def test_unreachable_target_fails_without_raising() -> None:
    t = Target("http://127.0.0.1:9", timeout_s=0.3)
    for result in (check_health(t), check_trading(t), check_risk(t), check_security(t), check_smoke(t)):
        assert not result.passed and "no response" in result.detail
