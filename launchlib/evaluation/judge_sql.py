"""The canary judge of :mod:`launchlib.evaluation.judge`, over a run's Parquet parts through DuckDB.

The same verdicts as :func:`~launchlib.evaluation.judge.judge` (a test holds them equal) without
the samples leaving DuckDB: DuckDB reduces them to one line per class, metric and distinct value,
with how many baseline samples and how many of each candidate interval's have it. From those
counts, in value order, everything the test needs follows: the candidate's Mann-Whitney U is the
sum over its samples of the baseline samples below each (ties counted half), a running count;
the tie correction is a count per value; medians and means are weighted by the counts. Several
candidate intervals (the whole watch, the decision's window, the time its triggers held) share
the one scan. The p-value is scipy's asymptotic one (continuity- and tie-corrected), which is
what ``scipy.stats.mannwhitneyu`` computes for samples of more than eight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from launchlib.evaluation.judge import JudgeSettings, MetricVerdict, verdict
from launchlib.plan.model import Plan
from launchlib.runfolder.events import SAMPLES_DIR
from launchlib.runfolder.sample_query import SampleQuery, class_case

__all__ = ["ValueCounts", "judge_counts", "judge_intervals", "value_counts"]

Interval = tuple[float, float | None]  # candidate samples with start < ts <= end (None: no end)


def _query(scan: str, n: int) -> str:
    """Per class, metric and distinct value (in that order): the baseline's count and each
    interval's (``?`` parameters: the deploy time, then each interval's start and end)."""
    counts = ", ".join(f"count(*) filter (where ts > ? and ts <= ?) as e{i}" for i in range(n))
    return f"""
    with s as (select cls, ts, latency_ms, status from (select {{cls}} as cls, * from {scan}) where cls >= 0),
    m as (
        select cls, 1 as metric, latency_ms as v, ts from s
        where status > 0 and latency_ms is not null and not isnan(latency_ms)
        union all
        select cls, 0, case when status = 0 or status >= 500 then 1.0 else 0.0 end, ts from s
    )
    select cls, metric, v, count(*) filter (where ts <= ?) as eb, {counts}
    from m group by all order by cls, metric desc, v
    """


def _median(v: np.ndarray, w: np.ndarray) -> float:
    """``np.median`` of the sample holding each ``v[j]`` ``w[j]`` times (``v`` ascending)."""
    cum = np.cumsum(w)
    n = int(cum[-1])
    lo, hi = v[np.searchsorted(cum, (n + 1) // 2)], v[np.searchsorted(cum, n // 2 + 1)]
    return float(lo + hi) / 2.0 if n % 2 == 0 else float(lo)


def _compare(
    name: str, metric: str, v: np.ndarray, eb: np.ndarray, ec: np.ndarray, s: JudgeSettings
) -> MetricVerdict:
    """One class and metric: baseline counts ``eb`` against an interval's ``ec`` per value ``v``."""
    nb, nc = int(eb.sum()), int(ec.sum())
    centre = _median if metric == "latency_ms" else (lambda x, w: float((x * w).sum() / w.sum()))
    b = centre(v, eb) if nb else None
    c = centre(v, ec) if nc else None
    if nb < s.min_samples or nc < s.min_samples:
        return MetricVerdict(name, metric, nb, nc, b, c, None, None, None, "no data")
    seen = v[(eb > 0) | (ec > 0)]
    if seen.min() == seen.max():  # identical constants: nothing to test
        return MetricVerdict(name, metric, nb, nc, b, c, None, 1.0, 0.0, "pass")
    below = np.cumsum(eb) - eb  # baseline samples below each value
    u = float((ec * (below + 0.5 * eb)).sum())
    t = (eb + ec).astype(float)
    return verdict(name, metric, (nb, nc), (b, c), u, _p_value(u, nb, nc, float((t**3 - t).sum())), s)


def _p_value(u1: float, nb: int, nc: int, tie_term: float) -> float:
    """Two-sided asymptotic p-value of ``scipy.stats.mannwhitneyu``."""
    u = max(u1, nb * nc - u1)
    n = nb + nc
    sd = math.sqrt(nb * nc / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (u - nb * nc / 2 - 0.5) / sd if sd > 0 else math.inf
    return min(max(2.0 * float(ndtr(-z)), 0.0), 1.0)


@dataclass(frozen=True)
class ValueCounts:
    """A run's samples reduced by DuckDB: per class, metric and distinct value (ascending), how
    many baseline samples have it (``base``) and how many of each candidate interval's (``per``)."""

    groups: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, list[np.ndarray]]]
    intervals: int

    def of(self, cls: str, metric: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None:
        """(values, baseline counts, each interval's counts) of a class's metric, if it has any."""
        return self.groups.get((cls, metric))

    def classes(self) -> list[str]:
        return sorted({c for c, _ in self.groups})


def value_counts(
    q: SampleQuery, run_dir: Path | str, plan: Plan, deploy_at: float, intervals: list[Interval]
) -> ValueCounts:
    """One DuckDB scan of a run's parts, reduced to :class:`ValueCounts` (the plan's classes)."""
    scan = q.scan([run_dir])
    if scan is None:
        return ValueCounts({}, len(intervals))
    names = sorted(set(plan.monitoring.endpoint_classes.values()))
    index = {e: names.index(c) for e, c in plan.monitoring.endpoint_classes.items()}
    sql = _query(scan, len(intervals)).replace("{cls}", class_case(index))
    params: list[float] = [deploy_at]
    for start, end in intervals:
        params += [start, math.inf if end is None else end]
    got = q.sql(sql, params, Path(run_dir) / SAMPLES_DIR).fetchnumpy()
    key = np.asarray(got["cls"], dtype=np.int64) * 2 + np.asarray(got["metric"], dtype=np.int64)
    v, eb = np.asarray(got["v"], dtype=float), np.asarray(got["eb"], dtype=np.int64)
    per = [np.asarray(got[f"e{i}"], dtype=np.int64) for i in range(len(intervals))]
    cuts = np.flatnonzero(np.diff(key)) + 1  # the rows come ordered by class, metric, value
    groups = {}
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(key)], strict=True):
        if hi > lo:
            ci, mi = divmod(int(key[lo]), 2)
            groups[(names[ci], "latency_ms" if mi else "failure")] = (
                v[lo:hi],
                eb[lo:hi],
                [e[lo:hi] for e in per],
            )
    return ValueCounts(groups, len(intervals))


def judge_counts(counts: ValueCounts, settings: JudgeSettings | None = None) -> list[list[MetricVerdict]]:
    """For each candidate interval, every class's latency and failure against the baseline."""
    s = settings or JudgeSettings()
    out: list[list[MetricVerdict]] = [[] for _ in range(counts.intervals)]
    for cls in counts.classes():
        for metric in ("latency_ms", "failure"):
            got = counts.of(cls, metric)
            for i in range(counts.intervals):  # a class that never answered has no latency to judge
                out[i].append(
                    _compare(cls, metric, got[0], got[1], got[2][i], s)
                    if got is not None
                    else MetricVerdict(cls, metric, 0, 0, None, None, None, None, None, "no data")
                )
    return out


def judge_intervals(
    q: SampleQuery,
    run_dir: Path | str,
    plan: Plan,
    deploy_at: float,
    intervals: list[Interval],
    settings: JudgeSettings | None = None,
) -> list[list[MetricVerdict]]:
    """For each candidate interval, every class's latency and failure against the baseline (the
    samples at or before ``deploy_at``), as :func:`~launchlib.evaluation.judge.judge` gives them."""
    return judge_counts(value_counts(q, run_dir, plan, deploy_at, intervals), settings)
