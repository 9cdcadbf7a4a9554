"""Launch success criteria over a period: each threshold of the plan with value and pass/fail.

Quantiles here are exact (nearest rank over the period's samples). ``uptime`` is the share
of health probes answered without a server error; ``availability`` and ``error_rate`` are
over the API classes (api, trading, risk); ``trading_execution_ms`` and
``risk_calculation_ms`` are the p95 time the service took for their class, as it reports it
(``x-server-time-ms``, the samples' ``server_ms``), else the p95 latency the client saw: an
execution time is the service's, and a busy client's own delays are no part of it. For the same
reason a sample whose client stalled longer than ``monitoring.max_client_stall_ms`` keeps its
status but not its latency, as in the trigger engine. A metric the samples cannot
measure (``data_processing_ms``) is reported with ``passed: null`` rather than guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from launchlib.evaluation.metrics import RowArrays, to_rows
from launchlib.plan.model import Plan
from launchlib.plan.vocabulary import API_CLASSES

__all__ = ["Criterion", "evaluate_success", "period_metrics"]


@dataclass
class Criterion:
    id: str
    text: str
    metric: str
    value: float | None
    op: str
    threshold: float
    passed: bool | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _p(lat: np.ndarray, q: float) -> float | None:
    lat = lat[~np.isnan(lat)]
    return float(np.quantile(lat, q, method="inverted_cdf")) if len(lat) else None


def period_metrics(
    plan: Plan, samples: pd.DataFrame, start: float | None = None, end: float | None = None
) -> dict[str, float | None]:
    """The measurable success metrics over samples with ``start < ts <= end``."""
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
        served = np.where(np.isnan(server), lat, server)
    failed = (st == 0) | (st >= 500)
    answered = st > 0

    def of(*classes: str) -> np.ndarray:
        return np.isin(cls, [names.index(c) for c in classes if c in names])

    api = of(*API_CLASSES)
    health = of("health")

    def ratio(mask: np.ndarray) -> float | None:
        return float(1.0 - failed[mask].mean()) if mask.any() else None

    availability = ratio(api)
    return {
        "p95_latency_ms": _p(lat[api & answered], 0.95),
        "p99_latency_ms": _p(lat[api & answered], 0.99),
        "error_rate": None if availability is None else 1.0 - availability,
        "availability": availability,
        "uptime": ratio(health) if health.any() else ratio(np.ones(len(st), bool)),
        "trading_execution_ms": _p(served[of("trading") & answered], 0.95),
        "risk_calculation_ms": _p(served[of("risk") & answered], 0.95),
        "samples": float(m.sum()),
    }


def evaluate_success(
    plan: Plan, samples: pd.DataFrame, start: float | None = None, end: float | None = None
) -> list[Criterion]:
    """Every thresholded success criterion and performance target of the plan, judged."""
    values = period_metrics(plan, samples, start, end)
    out = []
    for item in [*plan.success.launch_criteria, *plan.success.performance_targets]:
        th = item.threshold
        if th is None:
            continue
        v = values.get(th.metric)
        out.append(
            Criterion(
                item.id,
                item.text,
                th.metric,
                v,
                th.op.value,
                th.value,
                None if v is None else bool(th.holds(v)),
            )
        )
    return out
