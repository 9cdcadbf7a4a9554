"""The canary judge of :mod:`launchlib.evaluation.judge`, over a run's Parquet parts through DuckDB.

The same verdicts as :func:`~launchlib.evaluation.judge.judge` (a test holds them equal) without
a table of the run: DuckDB reads four columns up to the decision (the range pushed into the scan
of the parts), and they are reduced to one line per class, metric and distinct value, with how
many baseline samples and how many of each candidate interval's have it. From those counts, in
value order, everything the test needs follows: the candidate's Mann-Whitney U is the sum over
its samples of the baseline samples below each (ties counted half), a running count; the tie
correction is a count per value; medians and means are weighted by the counts. Several candidate
intervals (the whole watch, the decision's window, the time its triggers held) share the one
read, and the analysis shares it with the what-if (:func:`judge_columns`). The p-value is
scipy's asymptotic one (continuity- and tie-corrected), which is what
``scipy.stats.mannwhitneyu`` computes for samples of more than eight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from launchlib.evaluation.judge import JudgeSettings, MetricVerdict, verdict
from launchlib.plan.model import Plan
from launchlib.runfolder.sample_query import SampleQuery, class_case

__all__ = ["ValueCounts", "counts_of", "judge_columns", "judge_counts", "judge_intervals", "value_counts"]

Interval = tuple[float, float | None]  # candidate samples with start < ts <= end (None: no end)


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


def judge_columns(plan: Plan) -> tuple[dict[str, str], list[str]]:
    """The columns the judge reads from the samples (name → SQL, for :meth:`SampleQuery.arrays`)
    and the class names their ``judge_cls`` index refers to (-1: an endpoint of no class)."""
    names = sorted(set(plan.monitoring.endpoint_classes.values()))
    index = {e: names.index(c) for e, c in plan.monitoring.endpoint_classes.items()}
    columns = {
        "ts": "ts",
        "judge_cls": class_case(index),
        "judge_latency": "coalesce(latency_ms, 'nan'::double)",
        "judge_status": "coalesce(status, 0)",
    }
    return columns, names


def counts_of(
    got: dict[str, np.ndarray], names: list[str], deploy_at: float, intervals: list[Interval]
) -> ValueCounts:
    """The samples read with :func:`judge_columns` reduced to :class:`ValueCounts`.

    Per class and metric, the distinct values in order (``np.unique``) and, per value, how many
    baseline samples (``ts <= deploy_at``) and how many of each interval's have it. This is not
    a reduction DuckDB should do: a latency measured to the microsecond is nearly one distinct
    value per sample, so a group-by returns as many rows as it reads, and its hash table and
    sort cost 0.25 s per 430 000 samples where numpy's sort of the same column costs 0.07 s."""
    ts, cls = np.asarray(got["ts"], dtype=float), np.asarray(got["judge_cls"], dtype=np.int64)
    latency, status = np.asarray(got["judge_latency"], dtype=float), np.asarray(got["judge_status"])
    sides = [ts <= deploy_at] + [(ts > a) & (ts <= (math.inf if b is None else b)) for a, b in intervals]
    answered = (status > 0) & ~np.isnan(latency)
    failed = ((status == 0) | (status >= 500)).astype(float)
    groups = {}
    for ci, name in enumerate(names):
        mine = cls == ci
        for metric, keep, values in (("latency_ms", mine & answered, latency), ("failure", mine, failed)):
            if keep.any():
                v, where = np.unique(values[keep], return_inverse=True)
                n = [np.bincount(where[side[keep]], minlength=len(v)) for side in sides]
                groups[(name, metric)] = (v, n[0], n[1:])
    return ValueCounts(groups, len(intervals))


def value_counts(
    q: SampleQuery, run_dir: Path | str, plan: Plan, deploy_at: float, intervals: list[Interval]
) -> ValueCounts:
    """A run's samples up to the last interval's end, read by DuckDB (the range and the columns
    pushed into the scan of its parts), reduced to :class:`ValueCounts` (the plan's classes)."""
    columns, names = judge_columns(plan)
    ends = [b for _, b in intervals]
    end = None if None in ends else max([deploy_at, *[b for b in ends if b is not None]])
    return counts_of(q.arrays(run_dir, columns, end=end), names, deploy_at, intervals)


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
