"""The open-loop sampler: schedule, latency from intended send time, failures as data."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np
import pytest

from launchlib.evaluation.sources import read_samples
from launchlib.probing.sampler import Endpoint, Sampler, sample, write_samples
from launchlib.probing.target import Target
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import Binding, Fault, FaultKind
from launchlib.simulator.server import SimServer

pytestmark = pytest.mark.slow  # measures latency and stalls: never beside other tests' load


def test_fixed_rate_rows_and_columns(sim: SimServer, tmp_path) -> None:
    run = sample(Target(sim.url), rate=100, duration_s=1.0)
    df = run.frame()
    assert run.scheduled == 100 and len(df) == 100
    assert list(df.columns) == [
        "ts",
        "endpoint",
        "latency_ms",
        "status",
        "release",
        "server_ms",
        "client_stall_ms",
    ]
    assert (df["client_stall_ms"] >= 0).all() and df[
        "client_stall_ms"
    ].median() < 50  # an idle loop is never late
    gaps = np.diff(df.ts.to_numpy())
    assert np.allclose(gaps, 0.01, atol=1e-6)  # ts is the intended send time
    assert set(df.endpoint) == {
        "/health",
        "/api/market",
        "/api/orders",
        "/api/risk",
        "/api/integrity",
        "/admin/config",
    }
    assert (df.release == "prod-rollback").all()
    assert (df.latency_ms >= df.server_ms).all()
    assert set(df.status) == {200, 201, 401}
    for suffix in (".parquet", ".csv"):
        out = write_samples(df, tmp_path / f"s{suffix}")
        back = read_samples(out)  # what was written reads back as the same samples
        assert len(back) == len(df) and list(back.columns) == list(df.columns)
        assert np.allclose(back.ts.to_numpy(), df.ts.to_numpy())
        assert (back.status.to_numpy() == df.status.to_numpy()).all()
        assert list(back.endpoint.astype(str)) == list(df.endpoint.astype(str))


def test_unreachable_target_is_data_not_a_crash() -> None:
    df = sample(Target("http://127.0.0.1:9", timeout_s=0.3), rate=20, duration_s=0.5).frame()
    assert len(df) == 10 and (df.status == 0).all() and df.latency_ms.isna().all()


def test_no_coordinated_omission() -> None:
    """A server slower than the schedule: queueing shows up as latency, no request is skipped."""
    slow = Fault(kind="latency", binding="infrastructure", latency_ms=100)
    with SimServer(config=SimConfig(restart_s=0), faults=[slow]) as srv:
        srv.command("arm", t0=0)
        sampler = Sampler(Target(srv.url), rate=40, endpoints=[Endpoint("/version")], max_connections=1)
        run = asyncio.run(sampler.run(1.0))
    df = run.frame()
    assert len(df) == 40
    # one connection serves ~9 req/s: later requests waited for the ones before them, and
    # that wait is their latency (measured from the intended send time)
    answered = df.dropna(subset=["latency_ms"])
    worst = answered.loc[answered.latency_ms.idxmax()]
    assert worst.latency_ms > 1500 and worst.latency_ms > 10 * worst.server_ms
    # requests still queued when the run ended are rows with status 0, not missing
    assert (df.status.isin([0, 200])).all()


def test_on_rows_streams_batches(sim: SimServer) -> None:
    got: list[int] = []
    sampler = Sampler(Target(sim.url), rate=100, on_rows=lambda rows: got.append(len(rows)), flush_s=0.2)
    run = asyncio.run(sampler.run(1.0))
    assert sum(got) == len(run.rows) == 100 and len(got) >= 3


def test_a_held_up_simulator_is_the_hosts_latency_and_a_fault_is_the_services() -> None:
    """The embedded simulator's loop held up 400 ms (as a busy host would): the requests that waited
    are marked stalled; a latency fault's 600 ms on every API call (``asyncio.sleep``, ~40 requests
    in flight) never is, however long each request takes, even on a loop a few ms late all along."""
    slow = Fault(
        kind=FaultKind.LATENCY,
        binding=Binding.INFRASTRUCTURE,
        endpoints=("/api/",),
        latency_ms=600,
        jitter_ms=100,
    )
    held: list[float] = []
    with SimServer(config=SimConfig(restart_s=0.0, report_loop_lag=True), faults=[slow]) as srv:
        srv.command("arm", t0=time.time(), compress=1.0)
        lag = srv.app.state.loop_lag

        async def busy() -> None:  # a loop a few ms late on every tick: a long request spans many
            while not held:
                time.sleep(0.003)
                await asyncio.sleep(0.001)

        def hold() -> None:
            held.append(time.time())
            lag.loop.call_soon_threadsafe(time.sleep, 0.4)  # blocks the simulator's loop, not ours

        lag.loop.call_soon_threadsafe(lambda: lag.loop.create_task(busy()))
        timer = threading.Timer(1.5, hold)
        timer.start()
        df = sample(Target(srv.url), rate=100, duration_s=2.5).frame()
        timer.join()
    ok = df[df.status > 0]
    api = ok.endpoint.str.startswith("/api/")
    waited = ok[~api & (ok.latency_ms > 250)]
    assert len(waited) >= 5 and (waited.client_stall_ms > 200).all(), waited
    faulty = ok[api & (ok.ts < held[0] - 0.9)]  # answered before the hold
    assert len(faulty) >= 20 and (faulty.latency_ms > 450).all()
    assert (faulty.client_stall_ms < 50).all(), faulty  # the service's latency: judged
    calm = ok[~api & (ok.ts < held[0] - 0.5)]
    assert calm.client_stall_ms.median() < 5


def test_a_simulator_standing_in_for_a_real_stack_does_not_report_its_loop() -> None:
    """In a container a paused process is a fault and looks like a held-up loop from inside."""
    with SimServer(config=SimConfig(restart_s=0.0)) as srv:
        r = httpx.get(f"{srv.url}/health")
    assert "x-server-time-ms" in r.headers and "x-sim-loop-lag-ms" not in r.headers
