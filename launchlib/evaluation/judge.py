"""Baseline versus candidate, per endpoint class: a canary judge in the manner of Kayenta's.

For each endpoint class and metric (latency of answered requests; failure as 0/1 per request)
the samples of the previous release before the deploy (baseline) are compared with the
candidate's after it, up to the rollback decision when there is one. A two-sided Mann-Whitney
U test says whether they differ; the effect size (rank-biserial correlation, -1 … 1, positive
when the candidate is worse) and the medians or rates say by how much. A metric is

* ``fail`` when the difference is significant, the candidate is worse and the effect is at
  least ``large`` (or a failure rate rose by more than ``max_failure_rise``);
* ``marginal`` when it is significant and worse but the effect is smaller than that;
* ``pass`` otherwise (not significant, or better, or a latency whose median rose by less than
  the bar: ``min_change_ms`` and ``min_change_ratio`` of the baseline, a difference a test can
  see but a person would not), ``no data`` without enough samples.

:func:`plan_settings` takes the bar from the plan itself: its degradation trigger's factor and
minimum change, so the judge and the trigger engine agree on what a slowdown is.

The run's verdict is the worst of its metrics, with the share that passed (Kayenta's score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric

__all__ = ["JudgeSettings", "MetricVerdict", "judge", "overall", "plan_settings", "verdict"]

VERDICT_ORDER = {"pass": 0, "no data": 0, "marginal": 1, "fail": 2}


@dataclass(frozen=True)
class JudgeSettings:
    alpha: float = 0.01  # significance of the two-sided Mann-Whitney U test
    large: float = 0.3  # |rank-biserial| at or above this is a large effect
    max_failure_rise: float = 0.01  # a failure rate that rose by more than this fails outright
    min_samples: int = 20
    min_change_ms: float = 0.0  # a latency median that rose less than this is not worse
    min_change_ratio: float = 0.0  # nor one that rose by less than this share of the baseline


@dataclass(frozen=True)
class MetricVerdict:
    """One class and metric, baseline against candidate, with the numbers behind the verdict."""

    cls: str
    metric: str  # latency_ms | failure
    baseline_n: int
    candidate_n: int
    baseline: float | None  # median latency (ms) or failure rate
    candidate: float | None
    u: float | None
    p_value: float | None
    effect: float | None  # rank-biserial correlation; > 0: the candidate is worse
    verdict: str

    def as_row(self) -> dict[str, object]:
        return self.__dict__.copy()


def plan_settings(plan: Plan) -> JudgeSettings:
    """The judge with the plan's bar for a slowdown: its degradation trigger's ratio and minimum
    change (``p95 > 1.5 × baseline`` and ``+100 ms`` in the reference plan)."""
    for _, t in plan.triggers():
        c = t.condition
        if c.metric is ConditionMetric.LATENCY_P95_DEGRADATION:
            return JudgeSettings(min_change_ms=c.min_change_ms or 0.0, min_change_ratio=c.threshold or 0.0)
    return JudgeSettings()


def _compare(cls: str, metric: str, base: np.ndarray, cand: np.ndarray, s: JudgeSettings) -> MetricVerdict:
    nb, nc = int(base.size), int(cand.size)
    center = np.median if metric == "latency_ms" else np.mean
    b = float(center(base)) if nb else None
    c = float(center(cand)) if nc else None
    if nb < s.min_samples or nc < s.min_samples:
        return MetricVerdict(cls, metric, nb, nc, b, c, None, None, None, "no data")
    if np.all(base == base[0]) and np.all(cand == base[0]):  # identical constants: nothing to test
        return MetricVerdict(cls, metric, nb, nc, b, c, None, 1.0, 0.0, "pass")
    from scipy.stats import mannwhitneyu  # heavy (0.5 s to import): only when samples are judged whole

    u, p = mannwhitneyu(cand, base, alternative="two-sided")
    return verdict(cls, metric, (nb, nc), (b, c), float(u), float(p), s)


def verdict(
    cls: str,
    metric: str,
    sizes: tuple[int, int],
    centers: tuple[float | None, float | None],
    u: float,
    p: float,
    s: JudgeSettings,
) -> MetricVerdict:
    """The verdict on a tested metric: ``u`` counts candidate > baseline pairs (ties half), ``p``
    is the two-sided Mann-Whitney p-value; baseline and candidate sizes and medians (or rates)."""
    (nb, nc), (b, c) = sizes, centers
    effect = 2.0 * u / (nb * nc) - 1.0
    worse = effect > 0
    result = "pass"
    noticeable = metric != "latency_ms" or (
        c is not None
        and b is not None
        and c - b >= s.min_change_ms
        and (b <= 0 or c / b - 1.0 >= s.min_change_ratio)
    )
    if p < s.alpha and worse and noticeable:
        result = "fail" if effect >= s.large else "marginal"
    if metric == "failure" and b is not None and c is not None and c - b > s.max_failure_rise:
        result = "fail"
    return MetricVerdict(cls, metric, nb, nc, b, c, u, p, effect, result)


def judge(
    plan: Plan,
    samples: pd.DataFrame,
    deploy_at: float,
    until: float | None = None,
    settings: JudgeSettings | None = None,
) -> list[MetricVerdict]:
    """Every endpoint class's latency and failure, before ``deploy_at`` against after it (to ``until``)."""
    s = settings or JudgeSettings()
    if samples.empty:
        return []
    cls = samples["endpoint"].astype(str).map(plan.monitoring.endpoint_classes)
    ts = samples["ts"].to_numpy(float)
    status = pd.to_numeric(samples["status"], errors="coerce").fillna(0).to_numpy(float)
    latency = pd.to_numeric(samples["latency_ms"], errors="coerce").to_numpy(float)
    before = ts <= deploy_at
    after = (ts > deploy_at) & (ts <= (until if until is not None else np.inf))
    out = []
    for c in sorted(set(cls.dropna())):
        m = (cls == c).to_numpy()
        answered = (status > 0) & ~np.isnan(latency)
        failed = ((status == 0) | (status >= 500)).astype(float)
        out.append(
            _compare(c, "latency_ms", latency[m & before & answered], latency[m & after & answered], s)
        )
        out.append(_compare(c, "failure", failed[m & before], failed[m & after], s))
    return out


def overall(verdicts: list[MetricVerdict]) -> tuple[str, float]:
    """The worst verdict and the share of judged metrics that passed (0 … 100)."""
    judged = [v for v in verdicts if v.verdict != "no data"]
    if not judged:
        return "no data", 0.0
    worst = max(judged, key=lambda v: VERDICT_ORDER[v.verdict]).verdict
    return worst, 100.0 * sum(v.verdict == "pass" for v in judged) / len(judged)
