"""Prometheus as the judge (``--source prometheus``): the plan's PromQL, bad input, a real
Prometheus scraping the simulator, and whole rehearsals judged from it (scenario tier)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import LAUNCHLIB, ROOT, cli_env, wait_until

from launchlib.errors import PlanError
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.launch.checks import run_item_checks
from launchlib.launch.context import open_phase
from launchlib.plan.files import load_plan
from launchlib.plan.promql import LATENCY, PLACEHOLDERS, metric_names, render
from launchlib.probing.sampler import sample
from launchlib.probing.target import Target
from launchlib.runfolder.events import Event, first_event, read_events
from launchlib.runfolder.records import DecisionRecord, read_decisions
from launchlib.simulator.server import SimServer


def _plan_with(tmp_path: Path, **queries: str) -> Path:
    data = yaml.safe_load((ROOT / "parameters/plan.yaml").read_text())
    data["monitoring"]["prometheus"] = queries
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAUNCHLIB, *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- the plan's PromQL -------------------------------------------------------------------------
def test_default_queries_name_the_common_metrics() -> None:
    assert metric_names(render(LATENCY, **PLACEHOLDERS["latency_quantile"])) == {
        "http_request_duration_seconds_bucket"
    }
    q = render(
        'sum(rate(a_total[$window])) / on() group_left sum(b{x="$endpoints"})', endpoints="e", window="5s"
    )
    assert metric_names(q) == {"a_total", "b"}


@pytest.mark.parametrize(
    ("queries", "said"),
    [
        ({"requests": "sum(increase(http_requests_total[$window])"}, "not PromQL: unclosed left parenthesis"),
        ({"requests": 'http_requests_total{a="$region"}'}, "unknown placeholder $region"),
        ({"p99": "x"}, "monitoring.prometheus.p99"),
    ],
)
def test_a_malformed_query_is_refused_with_the_plan(
    tmp_path: Path, queries: dict[str, str], said: str
) -> None:
    path = _plan_with(tmp_path, **queries)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert said in str(err.value)
    run = _cli("plan", "validate", str(path))
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert "monitoring.prometheus" in lines[0] and str(path) in lines[0]


def test_dry_run_refuses_an_unreachable_prometheus_and_an_unknown_metric(tmp_path: Path) -> None:
    run = _cli("rehearse", "--dry-run", "--source", "prometheus", "--prometheus", "http://127.0.0.1:9")
    assert run.returncode == 2, run.stderr
    assert [ln for ln in run.stderr.splitlines() if "--prometheus" in ln and "not reachable" in ln], (
        run.stderr
    )
    plan = _plan_with(
        tmp_path, requests='sum(increase(orders_served_total{path=~"$endpoints",code=~"$status"}[$window]))'
    )
    run = _cli(
        "rehearse", "--dry-run", "--source", "prometheus", "--plan", str(plan)
    )  # the kit's own, on the sim
    assert run.returncode == 2
    assert (
        "monitoring.prometheus.requests: metric orders_served_total is not one the simulator exports"
        in run.stderr
    )
    run = _cli("monitor", "--run-id", "x", "--target", "http://127.0.0.1:9", "--source", "prometheus")
    assert run.returncode == 2 and "--source prometheus needs the URL" in run.stderr, run.stderr


def test_an_unreachable_prometheus_is_blindness_never_green() -> None:
    """No answer: every condition false but the monitoring gap, which grows from the last traffic
    seen and fires as the plan says, its evidence naming the query it could not run."""
    from launchlib.evaluation.triggers import TriggerEngine

    plan = load_plan(ROOT / "parameters/plan.yaml")
    engine = TriggerEngine(plan, deploy_at=1000.0, compress=30.0)
    source = PrometheusSource("http://127.0.0.1:9", plan, timeout_s=0.2)
    measured = source.measure(engine, until=1000.0 + 6.0)  # 180 launch s blind
    assert measured is not None and measured.blind and "not reachable" in measured.blind
    gap = next(
        r.trigger.id for r in engine.rules if r.trigger.condition.metric.value == "since_last_sample_s"
    )
    held = {tid for tid, v in measured.values.items() if v[2].any()}
    assert held == {gap}, held
    assert measured.values[gap][0][-1] == pytest.approx(180.0)
    fired = source.apply(engine, measured)
    assert (
        [f.id for f in fired] == [gap]
        and fired[0].evidence.query
        and "http_requests_total" in fired[0].evidence.query
    )


# -- a real Prometheus ---------------------------------------------------------------------------
@pytest.mark.slow  # a real Prometheus scraping the simulator
def test_a_real_prometheus_checks_the_plan_and_finds_no_series(tmp_path: Path, prometheus_factory) -> None:
    with SimServer() as srv:
        prom = prometheus_factory([srv.url.removeprefix("http://")])
        sample(Target(srv.url), rate=50, duration_s=3)
        wait_until(
            lambda: PrometheusSource(prom, load_plan(ROOT / "parameters/plan.yaml")).empty_queries() == [],
            30,
            "series",
        )
        unknown = _plan_with(
            tmp_path,
            requests='sum(increase(orders_served_total{path=~"$endpoints",code=~"$status"}[$window]))',
        )
        run = _cli(
            "rehearse", "--dry-run", "--source", "prometheus", "--prometheus", prom, "--plan", str(unknown)
        )
        assert run.returncode == 2, run.stderr
        assert (
            f"monitoring.prometheus.requests: metric orders_served_total is unknown to prometheus {prom}"
            in run.stderr
        )
        assert _cli("rehearse", "--dry-run", "--source", "prometheus", "--prometheus", prom).returncode == 0
        # the monitoring check of a phase: a query the service's metrics do not answer fails, named
        ctx = open_phase(
            "T-6h",
            run_dir=str(tmp_path / "run"),
            plan_path=str(unknown),
            target_url=srv.url,
            prometheus_url=prom,
            signoffs="",
        )
        try:
            items = [i for i in ctx.plan.phase("T-6h").items if i.check == "monitoring"]
            results = run_item_checks(ctx, items)
        finally:
            ctx.close()
    res = next(iter(results.values()))
    assert not res.passed and res.detail.startswith(
        "query returned no series: sum(increase(orders_served_total"
    )


# -- whole rehearsals judged from Prometheus (scenario tier) -----------------------------------
def _causes(run_dir: Path) -> tuple[str, str | None, set[str]]:
    """The decision, its tier and the causes on that tier."""
    d = next((r for r in read_decisions(run_dir) if isinstance(r, DecisionRecord)), None)
    if d is None:
        return "proceed", None, set()
    return "rollback", d.tier, {f.id for f in d.triggers if f.tier == d.tier}


@pytest.mark.scenario
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("scenario", ["latency-spike", "error-burst", "outage"])
def test_prometheus_decides_as_the_samples_do(scenario: str, rehearsed, readme_run, tmp_path: Path) -> None:
    """Decision and tier equal; the causes on that tier are the scenario's on both sides and
    share at least one (a trigger whose window fills one evaluation later may miss the cut)."""
    from launchlib.runner.console import Console
    from launchlib.runner.rehearse import exit_code, rehearse
    from launchlib.simulator.scenarios import load_scenario

    by_samples = readme_run if scenario == "latency-spike" else rehearsed(scenario)
    run_dir, m = rehearse(scenario, reports=tmp_path, console=Console(), source="prometheus")
    assert exit_code(m) == 0, m.outcome
    expected = set(load_scenario(scenario).expect.triggers)
    (d1, tier1, causes1), (d2, tier2, causes2) = _causes(run_dir), _causes(by_samples.run_dir)
    assert (d1, tier1) == (d2, tier2) == ("rollback", load_scenario(scenario).expect.tier)
    assert causes1 <= expected and causes2 <= expected and causes1 & causes2, (causes1, causes2)
    d = next(r for r in read_decisions(run_dir) if isinstance(r, DecisionRecord))
    assert all(f.evidence.query for f in d.triggers), "every cause names its query"
    if scenario != "latency-spike":
        return
    # the run keeps its telemetry: a Prometheus on it re-judges the window the same way
    from launchlib.probing.prometheus_process import PrometheusProcess

    deployed = first_event(read_events(run_dir), Event.DEPLOYED)
    assert deployed is not None
    with PrometheusProcess("http://127.0.0.1:9", run_dir / "prometheus") as prom:
        run = _cli(
            "replay",
            "--prometheus",
            prom.url,
            "--from",
            str(deployed.at),
            "--to",
            str(d.decided_at + 1),
            "--compress",
            "30",
            "--baseline-s",
            "5",
            "--json",
        )
    assert run.returncode == 0, run.stderr
    again = json.loads(run.stdout)
    assert (again["decision"], again["tier"]) == ("rollback", "immediate")
    assert any(c["passed"] is not None for c in again["success_criteria"])


PROMETHEUS_DOWN = """\
name: prometheus-down
description: No fault in the service; the Prometheus the launch judges from dies at T+10m.
faults: []
expect:
  rollback: true
  tier: controlled
  triggers: [monitoring_gap]
  detectable_at_s: 600
"""


@pytest.mark.scenario
@pytest.mark.timeout(900)
def test_prometheus_stopped_mid_run_is_a_monitoring_gap(tmp_path: Path) -> None:
    """The kit's Prometheus SIGKILLed at T+10m of a launch with no fault (back at T+16m): the
    monitoring-gap trigger fires (never a silent green) and the rehearsal ends as its scenario
    expects, its rollback verified once Prometheus answers again."""
    scenario = tmp_path / "prometheus-down.yaml"
    scenario.write_text(PROMETHEUS_DOWN)
    args = [
        "rehearse",
        "--scenario",
        str(scenario),
        "--source",
        "prometheus",
        "--reports",
        str(tmp_path),
        "--run-id",
        "gap",
    ]
    proc = subprocess.Popen(
        [LAUNCHLIB, *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_dir, back = tmp_path / "gap", None
    try:
        wait_until(
            lambda: run_dir.exists() and first_event(read_events(run_dir), Event.DEPLOYED), 300, "deploy"
        )
        deployed = first_event(read_events(run_dir), Event.DEPLOYED)
        assert deployed is not None
        time.sleep(max(0.0, deployed.at + 600 / 30 - time.time()))
        folder = run_dir / "prometheus"
        os.kill(int((folder / "pid").read_text()), signal.SIGKILL)
        time.sleep(max(0.0, deployed.at + 960 / 30 - time.time()))  # back at T+16m, on its port and data
        port = (folder / "url").read_text().strip().rsplit(":", 1)[1]
        args = [f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}"]
        back = subprocess.Popen(
            ["prometheus", *args, f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        if back is not None:
            back.terminate()
            back.wait(timeout=20)
    assert proc.returncode == 0, out[-3000:]
    d = next(r for r in read_decisions(run_dir) if isinstance(r, DecisionRecord))
    assert d.tier == "controlled" and {f.id for f in d.triggers} == {"monitoring_gap"}, d
    gap = d.triggers[0].evidence
    assert gap.query and gap.window_end - deployed.at > 600 / 30, "fired after Prometheus died, not before"
