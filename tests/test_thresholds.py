"""Threshold phrases of the seed become numbers with units."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launchlib.plan.thresholds import Condition, Op, Unit, parse_threshold, slug


@pytest.mark.parametrize(
    ("text", "metric", "op", "value", "unit"),
    [
        ("API response time > 500ms", "p95_latency_ms", Op.GT, 500, Unit.MS),
        ("Error rate > 5%", "error_rate", Op.GT, 0.05, Unit.RATIO),
        ("System uptime > 99.9%", "uptime", Op.GT, 0.999, Unit.RATIO),
        ("API response time < 200ms (95th percentile)", "p95_latency_ms", Op.LT, 200, Unit.MS),
        ("API response time < 300 ms (99th percentile)", "p99_latency_ms", Op.LT, 300, Unit.MS),
        ("Data processing < 5 seconds", "data_processing_ms", Op.LT, 5000, Unit.MS),
        ("Queue drain <= 2 minutes", "queue_drain_ms", Op.LE, 120000, Unit.MS),
        ("Performance degradation > 50%", "latency_p95_degradation", Op.GT, 0.5, Unit.RATIO),
    ],
)
def test_parse_threshold(text: str, metric: str, op: Op, value: float, unit: Unit) -> None:
    th = parse_threshold(text)
    assert th is not None
    assert (th.metric, th.op, th.unit) == (metric, op, unit)
    assert th.value == pytest.approx(value)


def test_phrase_without_threshold() -> None:
    assert parse_threshold("Security breach detected") is None


def test_threshold_holds() -> None:
    th = parse_threshold("Error rate < 1%")
    assert th is not None and th.holds(0.005) and not th.holds(0.02)


def test_condition_requires_threshold_and_classes() -> None:
    with pytest.raises(ValidationError, match="missing threshold"):
        Condition.model_validate({"metric": "failure_ratio", "classes": ["api"], "op": ">"})
    with pytest.raises(ValidationError, match="needs 'classes'"):
        Condition.model_validate({"metric": "failure_ratio", "op": ">", "threshold": 0.1})
    with pytest.raises(ValidationError, match="needs 'event'"):
        Condition.model_validate({"metric": "event"})


def test_slug() -> None:
    assert slug("Final system health check") == "final_system_health_check"
    assert slug("Tag `v1.0-prod-ready` created") == "tag_v1_0_prod_ready_created"
