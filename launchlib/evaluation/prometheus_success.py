"""The plan's success criteria over a period, read from Prometheus instead of the kit's samples.

The same metrics as :mod:`launchlib.evaluation.success`, from the service's own telemetry: a
latency quantile from its histogram (interpolated within buckets, so as fine as the buckets are),
error rate and availability over the API classes, uptime over the health class. A metric the
queries cannot measure is reported with ``passed: None``, never guessed.
"""

from __future__ import annotations

from launchlib.errors import DataError, Problem
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.evaluation.replay import CriterionVerdict, ReplayResult
from launchlib.evaluation.sources import parse_time
from launchlib.evaluation.success import Criterion
from launchlib.plan.model import Plan
from launchlib.plan.vocabulary import API_CLASSES

__all__ = ["replay_prometheus", "success_from_prometheus"]

#: metric -> (classes, quantile or None for a failure ratio, whether the value is 1 - ratio)
_MEASURES: dict[str, tuple[tuple[str, ...], float | None, bool]] = {
    "p95_latency_ms": (API_CLASSES, 0.95, False),
    "p99_latency_ms": (API_CLASSES, 0.99, False),
    "error_rate": (API_CLASSES, None, False),
    "availability": (API_CLASSES, None, True),
    "uptime": (("health",), None, True),
    "trading_execution_ms": (("trading",), 0.95, False),
    "risk_calculation_ms": (("risk",), 0.95, False),
}


def success_from_prometheus(
    plan: Plan, source: PrometheusSource, start: float, end: float
) -> list[Criterion]:
    """Every thresholded success criterion and performance target, judged over ``(start, end]``."""
    out = []
    for item in [*plan.success.launch_criteria, *plan.success.performance_targets]:
        th = item.threshold
        if th is None:
            continue
        value = None
        if th.metric in _MEASURES:
            classes, quantile, complement = _MEASURES[th.metric]
            value = source.period(classes, start, end, quantile)
            if value is not None and complement:
                value = 1.0 - value
        passed = None if value is None else bool(th.holds(value))
        out.append(Criterion(item.id, item.text, th.metric, value, th.op.value, th.value, passed))
    return out


def replay_prometheus(
    plan: Plan,
    url: str,
    start: str | float,
    end: str | float,
    events: list[tuple[float, str]] | None = None,
    baseline_s: float = 600.0,
    compress: float = 1.0,
) -> ReplayResult:
    """Re-judge a past launch window from Prometheus: the deploy at ``start``, up to ``end``
    (``compress``: launch seconds per real second, for a rehearsal's compressed telemetry)."""
    t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
    if t1 <= t0:
        raise DataError([Problem("--to", "", f"{t1:.3f} is not after --from {t0:.3f}")])
    source = PrometheusSource(url, plan)
    source.check("--plan", require_metrics=True)
    decision, _ = source.evaluate(t0, t1, compress=compress, events=events, baseline_s=baseline_s)
    crit = [
        CriterionVerdict(
            id=c.id, value=c.value, threshold=f"{c.metric} {c.op} {c.threshold:g}", passed=c.passed
        )
        for c in success_from_prometheus(plan, source, t0, t1)
    ]
    return ReplayResult(**dict(decision), success_criteria=crit)
