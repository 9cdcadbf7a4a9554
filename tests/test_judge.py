"""The canary judge and the what-if replay on synthetic samples with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlib.evaluation.judge import JudgeSettings, judge, overall
from launchlib.evaluation.whatif import Variant, variant_grid, variant_plan, what_if
from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric

T0 = 1_700_000_000.0
ENDPOINTS = ["/health", "/api/market", "/api/orders", "/api/risk"]


def _samples(
    slow_after: float = 1.0, fail_after: float = 0.0, fault_at: float = 0.0, seconds: int = 600, seed: int = 7
) -> pd.DataFrame:
    """10 requests a second per endpoint, 600 s before the deploy at T0 and ``seconds`` after it;
    from ``fault_at`` after the deploy, latency × ``slow_after`` and a ``fail_after`` share of 503s."""
    rng = np.random.default_rng(seed)
    ts = np.arange(T0 - 600, T0 + seconds, 0.1)
    rows = []
    for ep in ENDPOINTS:
        lat = rng.lognormal(np.log(40), 0.25, ts.size)
        status = np.full(ts.size, 200)
        hit = ts > T0 + fault_at
        lat[hit] *= slow_after
        status[hit & (rng.random(ts.size) < fail_after)] = 503
        rows.append(pd.DataFrame({"ts": ts, "endpoint": ep, "latency_ms": lat, "status": status}))
    df = pd.concat(rows, ignore_index=True)
    df["release"], df["server_ms"] = "x", np.nan
    return df.sort_values("ts", ignore_index=True)


def _verdict(plan: Plan, df: pd.DataFrame, cls: str, metric: str) -> str:
    return next(v.verdict for v in judge(plan, df, T0) if v.cls == cls and v.metric == metric)


def test_same_release_passes_and_a_slower_one_fails(plan: Plan) -> None:
    same = judge(plan, _samples(), T0)
    assert overall(same) == ("pass", 100.0)
    slow = _samples(slow_after=3.0)
    assert _verdict(plan, slow, "api", "latency_ms") == "fail"
    v = next(v for v in judge(plan, slow, T0) if v.cls == "api" and v.metric == "latency_ms")
    assert v.effect is not None and v.effect > 0.9 and v.p_value is not None and v.p_value < 1e-6
    assert (
        v.candidate is not None
        and v.baseline is not None
        and v.candidate / v.baseline == pytest.approx(3, rel=0.05)
    )


def test_a_small_shift_is_marginal_and_failures_fail(plan: Plan) -> None:
    assert _verdict(plan, _samples(slow_after=1.04), "api", "latency_ms") == "marginal"
    assert _verdict(plan, _samples(fail_after=0.05), "trading", "failure") == "fail"
    faster = _samples(slow_after=0.5)
    assert _verdict(plan, faster, "api", "latency_ms") == "pass"  # better is never a failure


def test_too_few_samples_is_no_data(plan: Plan) -> None:
    tiny = _samples().iloc[::2000]
    assert {v.verdict for v in judge(plan, tiny, T0, settings=JudgeSettings(min_samples=50))} == {"no data"}
    assert overall([]) == ("no data", 0.0)


def test_variant_plan_scales_triggers_and_leaves_the_plan_alone(plan: Plan) -> None:
    v = variant_plan(plan, Variant(threshold_scale=200.0, window_scale=2.0, for_scale=0.5))
    for (_, old), (_, new) in zip(plan.triggers(), v.triggers(), strict=True):
        c, n = old.condition, new.condition
        if c.threshold is None:
            assert n == c
            continue
        if c.metric in (ConditionMetric.FAILURE_RATIO, ConditionMetric.SUCCESS_RATIO):
            assert n.threshold is not None and n.threshold <= 1.0
        else:
            assert n.threshold == pytest.approx(c.threshold * 200)
        assert n.window_s == pytest.approx((c.window_s or plan.monitoring.window_s) * 2)
    # the identity variant keeps every threshold and effective window; the original is untouched
    same = variant_plan(plan, Variant())
    for (_, old), (_, new) in zip(plan.triggers(), same.triggers(), strict=True):
        assert new.id == old.id and new.condition.threshold == old.condition.threshold
        window = plan.monitoring.window_s
        assert (new.condition.window_s or window) == pytest.approx(old.condition.window_s or window)
    assert next(t for _, t in plan.triggers() if t.id == "api_latency").condition.window_s is None
    assert next(t for _, t in v.triggers() if t.id == "api_latency").condition.window_s is not None


def test_what_if_replays_the_same_engine_and_moves_the_decision(plan: Plan) -> None:
    df = _samples(slow_after=15.0, fault_at=120.0, seconds=900)  # 600 ms from T+2m
    grid = variant_grid((1.0, 3.0), (1.0,), (1.0, 2.0))
    table = what_if(plan, df, T0, variants=grid)
    assert table["variant"].iloc[0] == Variant().name and len(table) == 4
    base = table.iloc[0]
    assert base["decision"] == "rollback" and base["tier"] == "immediate"
    assert 120 < base["decided_launch_s"] < 240 and "performance_degradation" in base["fired"]
    slower = table[(table["threshold_scale"] == 1.0) & (table["for_scale"] == 2.0)].iloc[0]
    assert slower["decided_launch_s"] > base["decided_launch_s"]  # a longer `for` decides later
    lax = table[(table["threshold_scale"] == 3.0) & (table["for_scale"] == 1.0)].iloc[0]
    assert "api_latency" not in lax["fired"]  # 600 ms is under 3 × 500 ms
    shifted = what_if(
        plan, df, T0, variants=[Variant()], actual_decided_at=T0 + base["decided_launch_s"] - 10
    )
    assert shifted.iloc[0]["shift_s"] == pytest.approx(10.0)


def test_what_if_on_shared_bins_equals_a_fresh_replay_per_variant(plan: Plan) -> None:
    """The grid bins the samples once; each variant must judge exactly as its own replay would."""
    from launchlib.evaluation.triggers import evaluate

    df = _samples(slow_after=15.0, fault_at=120.0, seconds=900)
    grid = variant_grid((0.8, 1.0, 3.0), (0.5, 1.0, 2.0), (0.5, 2.0))
    table = what_if(plan, df, T0, variants=grid)
    for v, row in zip(grid, table.itertuples(), strict=True):
        d, engine = evaluate(variant_plan(plan, v), df, T0, until=float(df["ts"].max()))
        fired = {f.id: round(f.first_at - T0, 1) for f in engine.fired.values()}
        expected = ", ".join(f"{k} @{s:g}s" for k, s in sorted(fired.items(), key=lambda kv: kv[1]))
        assert (row.decision, row.tier, row.fired) == (d.decision, d.tier and str(d.tier), expected), v


def test_a_slowdown_under_the_bar_is_not_worse(plan: Plan) -> None:
    """40 → 60 ms is a large, significant effect, yet under a 100-ms bar it passes; 40 → 240 fails."""
    bar = JudgeSettings(min_change_ms=100.0)
    mild = judge(plan, _samples(slow_after=1.5), T0, settings=bar)
    assert {v.verdict for v in mild if v.metric == "latency_ms"} == {"pass"}
    assert _verdict(plan, _samples(slow_after=1.5), "api", "latency_ms") == "fail"  # no bar: worse
    heavy = judge(plan, _samples(slow_after=6.0), T0, settings=bar)
    assert {v.verdict for v in heavy if v.metric == "latency_ms"} == {"fail"}


def test_the_plan_sets_the_bar_as_its_degradation_trigger_does(plan: Plan) -> None:
    """A clean run judged with the plan's bar: 3.9 → 4.4 ms on /health is significant and a large
    effect, and no slowdown by the plan's own definition (> 1.5 × and + 100 ms)."""
    from launchlib.evaluation.judge import plan_settings

    bar = plan_settings(plan)
    assert (bar.min_change_ratio, bar.min_change_ms) == (0.5, 100.0)
    assert {v.verdict for v in judge(plan, _samples(slow_after=1.15), T0, settings=bar)} == {"pass"}
    assert _verdict(plan, _samples(slow_after=1.15), "health", "latency_ms") != "pass"  # without it
    spike = judge(plan, _samples(slow_after=16.0), T0, settings=bar)
    assert {v.verdict for v in spike if v.metric == "latency_ms"} == {"fail"}  # 40 → 640 ms
