"""The simulator over real HTTP: endpoints, releases, control API, every shipped scenario."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest

from launchlib.errors import PlanError, TargetError
from launchlib.probing.sampler import sample
from launchlib.probing.target import Target
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import Binding, Fault, FaultKind, list_scenarios, load_scenario
from launchlib.simulator.server import SimServer


def test_endpoints_answer(sim: SimServer) -> None:
    with httpx.Client(base_url=sim.url) as c:
        h = c.get("/health")
        assert h.status_code == 200 and set(h.json()["components"]) == {
            "api",
            "trading_engine",
            "risk_engine",
            "database",
            "market_feed",
        }
        assert h.headers["x-release"] == "prod-rollback"
        assert float(h.headers["x-server-time-ms"]) > 0
        assert "BTCUSDT" in c.get("/api/market").json()["quotes"]
        order = c.post("/api/orders", json={"symbol": "ETHUSDT", "side": "sell", "quantity": 2})
        assert order.status_code == 201 and order.json()["symbol"] == "ETHUSDT"
        assert c.post("/api/orders", content=b"").status_code == 201  # {} accepted with defaults
        assert c.delete(f"/api/orders/{order.json()['order_id']}").status_code == 200
        assert c.delete("/api/orders/o-nope").status_code == 404
        assert c.post("/api/risk", json={}).json()["positions"] == 1
        assert c.post("/api/risk", content=b"[1]").status_code == 400
        assert c.get("/api/integrity").status_code == 200
        assert c.get("/admin/config").status_code == 401
        assert c.get("/admin/config", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert c.get("/admin/config", headers={"Authorization": "Bearer sim-admin-token"}).status_code == 200
        assert c.get("/version").json() == {"release": "prod-rollback"}
        metrics = c.get("/metrics").text
    assert "http_request_duration_seconds_bucket{" in metrics
    assert 'endpoint="/api/orders"' in metrics and "http_requests_total" in metrics


def test_latency_model_is_realistic_and_seeded() -> None:
    from launchlib.simulator.app import SimState

    a, b = SimState(SimConfig(seed=3)), SimState(SimConfig(seed=3))
    xs = [a.base_latency_ms("/api/risk") for _ in range(2000)]
    assert xs == [b.base_latency_ms("/api/risk") for _ in range(2000)]
    s = pd.Series(xs)
    assert 32 < s.median() < 48 and s.quantile(0.99) > 1.5 * s.median()
    t = pd.Series([a.base_latency_ms("/api/orders") for _ in range(2000)])
    assert 15 < t.median() < 25


def _poll(fn, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    """Poll ``fn`` until it returns something true (no fixed sleeps: a busy host is slow, not wrong)."""
    deadline = time.monotonic() + timeout_s
    while not (value := fn()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
    return value


def _serving(srv: SimServer) -> str | None:
    """The release the simulator runs once it has restarted (its control API, which faults spare)."""
    state = srv.command("state")
    return None if state["restarting"] else str(state["release"])


def test_deploy_restart_and_rollback() -> None:
    with SimServer(config=SimConfig(restart_s=2.0)) as sim, httpx.Client(base_url=sim.url) as c:
        rec = sim.command("deploy")
        assert rec["to"] == "v1.0-prod-ready"
        assert c.get("/version").status_code == 503  # restarting for two seconds
        _poll(lambda: c.get("/version").status_code == 200)
        assert c.get("/version").json()["release"] == "v1.0-prod-ready"
        state = c.get("/_sim/state").json()
        assert state["t0"] is not None
        sim.command("rollback", procedure="controlled")
        assert c.get("/version").status_code == 503
        _poll(lambda: c.get("/version").status_code == 200)
        assert c.get("/version").json()["release"] == "prod-rollback"
        assert c.post("/_sim/nonsense", json={}).status_code == 400


def test_port_in_use_is_a_clear_error(sim: SimServer) -> None:
    with pytest.raises(TargetError, match=rf"port {sim.port} .* already in use"):
        SimServer("127.0.0.1", sim.port)


def test_unknown_and_malformed_scenarios(tmp_path) -> None:
    with pytest.raises(PlanError, match=r"unknown scenario 'nope'.*latency-spike"):
        load_scenario("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfaults:\n  - kind: earthquake\nexpect: {rollback: false}\n")
    with pytest.raises(PlanError, match=r"bad.yaml:3: faults\[0\].kind"):
        load_scenario(bad)
    bad.write_text("name: bad\nexpect: {rollback: true}\n")
    with pytest.raises(PlanError, match=r"expect: .*needs its tier"):
        load_scenario(bad)


def _affected(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return df[df.endpoint.str.startswith(prefix)]


def observed(fault: Fault, df: pd.DataFrame) -> bool:
    """Whether the sampled rows show this fault's signature."""
    k = fault.kind
    if k is FaultKind.LATENCY:
        rows = _affected(df, fault.endpoints[0] if fault.endpoints else "/")
        return rows.latency_ms.median() > 100  # undisturbed medians are 8-55 ms
    if k is FaultKind.ERRORS:
        return (df.status == fault.status).mean() > 0.02
    if k in (FaultKind.OUTAGE, FaultKind.FLAPPING):
        return (df.status == 503).mean() > 0.9
    if k is FaultKind.TRADING_FAILURE:
        return (_affected(df, "/api/orders").status == 500).all()
    if k is FaultKind.RISK_FAILURE:
        return (_affected(df, "/api/risk").status == 500).all()
    if k is FaultKind.DATA_INTEGRITY:
        return (_affected(df, "/api/integrity").status == 409).all()
    if k is FaultKind.SECURITY_BREACH:
        return (_affected(df, "/admin/config").status == 200).all()
    if k is FaultKind.MONITORING_GAP:
        return (_affected(df, "/health").status == 0).all()
    raise AssertionError(k)


COMPRESS = 60.0


def _sample_at(server: SimServer, launch_t: float) -> pd.DataFrame:
    server.command("arm", t0=time.time() - launch_t / COMPRESS, compress=COMPRESS)
    return sample(Target(server.url, timeout_s=1.5), rate=150, duration_s=0.8).frame()


@pytest.mark.parametrize("name", [n for n in list_scenarios() if not load_scenario(n).container_faults()])
def test_scenario_faults_are_observed_and_rollback_removes_release_faults(name: str) -> None:
    sc = load_scenario(name)
    with SimServer(config=SimConfig(restart_s=0.05, compress=COMPRESS), faults=list(sc.faults)) as srv:
        srv.command("deploy")
        _poll(lambda: _serving(srv) == "v1.0-prod-ready")
        onset = (sc.first_onset() or 0.0) + 5.0
        ramp = [f for f in sc.faults if f.ramp_to_ms and f.end_s]
        if ramp:  # sample a ramp halfway up
            onset = (ramp[0].start_s + ramp[0].end_s) / 2
        df = _sample_at(srv, onset)
        visible = [f for f in sc.faults if f.kind is not FaultKind.BAD_ROLLBACK]
        if not visible:  # clean: nothing but success
            assert (df.status.between(200, 499)).all()
        for f in visible:
            assert observed(f, df), f"{name}: {f.kind} not observed"
        srv.command("rollback", procedure="emergency")
        _poll(lambda: _serving(srv) is not None)
        release = httpx.get(f"{srv.url}/version", timeout=2).headers["x-release"]
        if sc.has(FaultKind.BAD_ROLLBACK):
            assert release == "v1.0-prod-ready"  # the seed's emergency rollback restarted it
            srv.command("rollback", procedure="controlled")
            _poll(lambda: _serving(srv) == "prod-rollback")
        assert httpx.get(f"{srv.url}/version", timeout=2).json()["release"] == "prod-rollback"
        after = _sample_at(srv, onset + 2.0)
        for f in visible:
            still = observed(f, after)
            assert still == (f.binding is Binding.INFRASTRUCTURE), f"{name}: {f.kind} after rollback"
        if sc.has(FaultKind.DATA_INTEGRITY) and any(f.binding is Binding.INFRASTRUCTURE for f in visible):
            srv.command("db/backup")
            srv.command("db/restore")
            assert httpx.get(f"{srv.url}/api/integrity", timeout=2).status_code == 200


def test_faults_before_onset_are_not_active() -> None:
    sc = load_scenario("outage")
    with SimServer(config=SimConfig(restart_s=0.0, compress=COMPRESS), faults=list(sc.faults)) as srv:
        srv.command("deploy")
        df = _sample_at(srv, 60.0)
        assert df.status.between(200, 499).all()


def test_sim_serve_cli_serves_until_interrupted() -> None:
    import signal
    import subprocess

    from conftest import LAUNCHLIB, cli_env, free_port

    port = free_port()
    proc = subprocess.Popen(
        [LAUNCHLIB, "sim", "serve", "--port", str(port), "--scenario", "outage"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/version", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _poll(up)
        assert httpx.get(f"{url}/version").json()["release"] == "prod-rollback"
        assert httpx.get(f"{url}/_sim/state").json()["releases"]["candidate"] == "v1.0-prod-ready"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"simulator on {url}" in out and "Traceback" not in err
