"""The Prometheus source against a real Prometheus scraping the simulator on loopback."""

from __future__ import annotations

import time

import pytest

from launchlib.errors import TargetError
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.plan.model import Plan
from launchlib.probing.sampler import sample
from launchlib.probing.target import Target
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import Fault
from launchlib.simulator.server import SimServer

COMPRESS = 6.0  # evaluation every 10/6 s, windows of 10 s, for 5 s


@pytest.mark.slow  # judges latency: never beside other tests' load
def test_prometheus_source_fires_like_samples(plan: Plan, prometheus_factory) -> None:
    spike = Fault(kind="latency", binding="release", start_s=0, endpoints=("/api/",), latency_ms=600)
    with SimServer(config=SimConfig(restart_s=0.05), faults=[spike]) as srv:
        prom = prometheus_factory([srv.url.removeprefix("http://")])
        target = Target(srv.url)
        sample(target, rate=60, duration_s=14)  # baseline on the previous release
        srv.command("deploy")
        deploy_at = time.time() + 0.05
        srv.command("arm", t0=deploy_at, compress=COMPRESS)
        sample(target, rate=60, duration_s=18)
        _scraped_after(prom, deploy_at + 18)
        source = PrometheusSource(prom, plan)
        decision, _engine = source.evaluate(deploy_at, deploy_at + 18, compress=COMPRESS, baseline_s=12)
    fired = {f.id for f in decision.triggers}
    assert decision.decision == "rollback" and decision.tier == "immediate", decision
    assert {"api_latency", "performance_degradation"} <= fired
    assert "security_breach" not in fired and "unavailable" not in fired
    latency = next(f for f in decision.triggers if f.id == "api_latency")
    assert latency.evidence.value > 500
    assert latency.evidence.query and "http_request_duration_seconds_bucket" in latency.evidence.query
    worse = next(f for f in decision.triggers if f.id == "performance_degradation").evidence
    assert worse.baseline_ms is not None and 20 < worse.baseline_ms < 200 and worse.baseline_samples
    assert worse.measured_ms is not None and worse.measured_ms > 500


def _scraped_after(prom: str, when: float, timeout_s: float = 30.0) -> None:
    """Wait until Prometheus holds a scrape taken after ``when`` (a poll, not a fixed sleep)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = httpx.get(f"{prom}/api/v1/query", params={"query": "max(timestamp(up))"}, timeout=5).json()
        result = got["data"]["result"]
        if result and float(result[0]["value"][1]) >= when:
            return
        time.sleep(0.2)
    raise AssertionError(f"no scrape after {when} within {timeout_s} s")


def test_unreachable_prometheus_is_a_clear_error(plan: Plan) -> None:
    with pytest.raises(TargetError, match=r"prometheus http://127\.0\.0\.1:9: not reachable"):
        PrometheusSource("http://127.0.0.1:9", plan, timeout_s=0.5).evaluate(0, 100)
