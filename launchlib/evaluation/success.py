"""Launch success criteria over a period: each threshold of the plan with value and pass/fail.

Quantiles here are exact (nearest rank over the period's samples). ``uptime`` is the share
of health probes answered without a server error; ``availability`` and ``error_rate`` are
over the API classes (api, trading, risk); ``trading_execution_ms`` and
``risk_calculation_ms`` are the p95 time the service took for their class, as it reports it
(``x-server-time-ms``, the samples' ``server_ms``), else the p95 latency the client saw: an
execution time is the service's, and a busy client's own delays are no part of it. For the same
reason a sample whose client stalled longer than ``monitoring.max_client_stall_ms`` keeps its
status but neither its latency nor its service time, as in the trigger engine. A metric the samples cannot
measure (``data_processing_ms``) is reported with ``passed: null`` rather than guessed.

A quantile judged on few samples is a coin near its threshold: 50 risk calls with 2 % slow
ones put the p95 over 100 ms one run in twenty. Each quantile criterion therefore says whether
its samples *settle* it: whether the share of samples past the threshold, with its one-sided
~90 % Wilson interval, lies wholly on one side of ``1 - q``. A load test that finds a verdict
unsettled takes more samples before it calls the criterion failed or met.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from launchlib.evaluation.metrics import RowArrays, to_rows
from launchlib.plan.model import Plan
from launchlib.plan.vocabulary import API_CLASSES

__all__ = [
    "QUANTILE_METRICS",
    "Criterion",
    "evaluate_success",
    "judge_until_settled",
    "period_metrics",
    "quantile_settled",
]

#: the metrics that are a quantile, and which one
QUANTILE_METRICS = {
    "p95_latency_ms": 0.95,
    "p99_latency_ms": 0.99,
    "trading_execution_ms": 0.95,
    "risk_calculation_ms": 0.95,
}
#: one-sided ~90 % normal quantile for the Wilson bound
_Z = 1.2816


@dataclass
class Criterion:
    id: str
    text: str
    metric: str
    value: float | None
    op: str
    threshold: float
    passed: bool | None
    #: whether the samples decide the verdict (always, unless a quantile sits near its threshold)
    settled: bool = True
    #: how many samples the metric was computed over (quantile metrics; ``None`` otherwise)
    samples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _p(lat: np.ndarray, q: float) -> float | None:
    lat = lat[~np.isnan(lat)]
    return float(np.quantile(lat, q, method="inverted_cdf")) if len(lat) else None


def quantile_settled(values: np.ndarray, q: float, threshold: float) -> bool:
    """Whether ``values`` decide on which side of ``threshold`` their ``q``-quantile lies.

    The quantile is under the threshold exactly when under ``1 - q`` of the population is at
    or over it; the samples settle that when the Wilson interval of the share they show
    (one-sided ~90 %) excludes ``1 - q``.
    """
    n = len(values)
    if n == 0:
        return False
    share, tail = float((values >= threshold).mean()), 1.0 - q
    z2 = _Z * _Z
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre + half < tail or centre - half > tail


def period_metrics(
    plan: Plan, samples: pd.DataFrame, start: float | None = None, end: float | None = None
) -> dict[str, float | None]:
    """The measurable success metrics over samples with ``start < ts <= end``."""
    return _period(plan, samples, start, end)[0]


def _period(
    plan: Plan, samples: pd.DataFrame, start: float | None, end: float | None
) -> tuple[dict[str, float | None], dict[str, np.ndarray]]:
    """The metrics, and the samples each quantile metric was taken over."""
    names = sorted(set(plan.monitoring.endpoint_classes.values()))
    r = (
        samples
        if isinstance(samples, RowArrays)
        else to_rows(samples, names, plan.monitoring.endpoint_classes, plan.monitoring.max_client_stall_ms)
    )
    m = np.ones(len(r.ts), bool)
    if start is not None:
        m &= r.ts > start
    if end is not None:
        m &= r.ts <= end
    cls = r.cls[m]
    lat, st = r.latency[m], r.status[m]
    served = lat  # the service's own time where it reports one
    if isinstance(samples, pd.DataFrame) and "server_ms" in samples.columns:
        server = pd.to_numeric(samples["server_ms"], errors="coerce").to_numpy(dtype=float)[m]
        # a latency not judged (no answer, or measured while the host held things up) leaves the
        # service's own time unjudged too: a held-up simulator's handler time is the host's
        served = np.where(np.isnan(lat), np.nan, np.where(np.isnan(server), lat, server))
    failed = (st == 0) | (st >= 500)
    answered = st > 0

    def of(*classes: str) -> np.ndarray:
        return np.isin(cls, [names.index(c) for c in classes if c in names])

    api = of(*API_CLASSES)
    health = of("health")

    def ratio(mask: np.ndarray) -> float | None:
        return float(1.0 - failed[mask].mean()) if mask.any() else None

    availability = ratio(api)
    over = {
        "p95_latency_ms": lat[api & answered],
        "p99_latency_ms": lat[api & answered],
        "trading_execution_ms": served[of("trading") & answered],
        "risk_calculation_ms": served[of("risk") & answered],
    }
    over = {k: v[~np.isnan(v)] for k, v in over.items()}
    values = {k: _p(v, QUANTILE_METRICS[k]) for k, v in over.items()}
    return {
        **values,
        "error_rate": None if availability is None else 1.0 - availability,
        "availability": availability,
        "uptime": ratio(health) if health.any() else ratio(np.ones(len(st), bool)),
        "samples": float(m.sum()),
    }, over


def evaluate_success(
    plan: Plan, samples: pd.DataFrame, start: float | None = None, end: float | None = None
) -> list[Criterion]:
    """Every thresholded success criterion and performance target of the plan, judged."""
    values, over = _period(plan, samples, start, end)
    out = []
    for item in [*plan.success.launch_criteria, *plan.success.performance_targets]:
        th = item.threshold
        if th is None:
            continue
        v = values.get(th.metric)
        seen = over.get(th.metric)
        settled = seen is None or v is None or quantile_settled(seen, QUANTILE_METRICS[th.metric], th.value)
        out.append(
            Criterion(
                item.id,
                item.text,
                th.metric,
                v,
                th.op.value,
                th.value,
                None if v is None else bool(th.holds(v)),
                settled,
                None if seen is None else len(seen),
            )
        )
    return out


def judge_until_settled(
    plan: Plan, take: Callable[[], pd.DataFrame], max_rounds: int
) -> tuple[pd.DataFrame, list[Criterion], int]:
    """Take rounds of samples (``take``) until every criterion is settled, at most ``max_rounds``.

    Returns the pooled samples, the criteria judged over all of them, and the rounds taken. A
    verdict still unsettled after the last round is given as measured, and says so
    (``settled: False``).
    """
    rounds = [take()]
    while True:
        frame = rounds[0] if len(rounds) == 1 else pd.concat(rounds, ignore_index=True)
        crit = evaluate_success(plan, frame)
        if all(c.settled for c in crit) or len(rounds) >= max_rounds:
            return frame, crit, len(rounds)
        rounds.append(take())
