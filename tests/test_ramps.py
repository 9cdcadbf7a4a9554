"""A ramp is judged from when it becomes detectable: the kit derives the launch second it crosses
the plan's own bar (degradation ratio and min_change_ms, or an absolute p95), a hand-set value wins."""

from __future__ import annotations

import pytest

from launchlib.plan.model import Plan
from launchlib.report.ramps import ramp_detectable_at
from launchlib.simulator.scenarios import Scenario

RAMP = {
    "kind": "latency",
    "binding": "release",
    "start_s": 300,
    "end_s": 2100,
    "endpoints": ["/api/"],
    "ramp_to_ms": 400,
}


def _scenario(**fault: object) -> Scenario:
    return Scenario.model_validate(
        {"name": "ramp", "faults": [RAMP | fault], "expect": {"rollback": True, "tier": "immediate"}}
    )


def test_the_shipped_slow_degradation_crosses_the_degradation_floor_at_t_12m30s(plan: Plan) -> None:
    found = ramp_detectable_at(plan, _scenario(), lambda classes: 55.0)
    assert found is not None and found.trigger == "performance_degradation"
    assert found.launch_s == pytest.approx(750.0)  # +100 ms (min_change_ms > 0.5 x 55) of 400 over 1800 s
    assert "+100 ms over the 55-ms baseline p95" in found.why


@pytest.mark.parametrize(
    ("baseline", "fault", "at", "trigger"),
    [
        (250.0, {}, 300 + 1800 * 125 / 400, "performance_degradation"),  # the ratio bar beats min_change_ms
        (55.0, {"end_s": 900}, 300 + 600 * 100 / 400, "performance_degradation"),  # a steeper ramp: sooner
        (55.0, {"latency_ms": 60}, 300 + 1800 * 40 / 400, "performance_degradation"),  # a step first
        (
            180.0,
            {"ramp_to_ms": 30},
            300 + 1800 * 20 / 30,
            "performance_issues",
        ),  # only the absolute 200 ms bar
    ],
)
def test_slope_baseline_and_bars(plan: Plan, baseline: float, fault: dict, at: float, trigger: str) -> None:
    found = ramp_detectable_at(plan, _scenario(**fault), lambda classes: baseline)
    assert found is not None and (found.trigger, found.launch_s) == (trigger, pytest.approx(at))


def test_what_never_crosses_or_is_no_ramp_derives_nothing(plan: Plan) -> None:
    assert ramp_detectable_at(plan, _scenario(ramp_to_ms=10), lambda c: 55.0) is None  # below every bar
    assert ramp_detectable_at(plan, _scenario(share=0.02), lambda c: 55.0) is None  # a p95 never moves
    assert ramp_detectable_at(plan, _scenario(endpoints=["/health"]), lambda c: 55.0) is None  # unwatched
    assert ramp_detectable_at(plan, _scenario(), lambda c: None) is None  # no baseline to compare with
