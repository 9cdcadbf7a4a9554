"""The rollback-trigger engine: evaluates the plan's triggers on sample windows, with evidence.

Evaluation happens every ``interval`` after the deploy, each over the trailing window
``(t - window, t]`` (clipped at the deploy: nothing before it is judged). A ratio or quantile
needs ``min_samples`` samples, else its condition is false. A trigger fires at the first
evaluation at which its condition has held at every evaluation for ``for`` seconds (as a
Prometheus alerting rule). The decision is ``rollback`` with the most urgent tier that fired.

:class:`TriggerEngine` is incremental (``feed`` rows, ``advance`` the clock); :func:`evaluate`
runs it once over a whole table. Both go through the same code, so they agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from launchlib.evaluation.metrics import Aggregates, RowArrays, hist_quantile, to_rows
from launchlib.plan.model import Plan, Trigger, TriggerTier
from launchlib.plan.thresholds import Condition
from launchlib.plan.thresholds import ConditionMetric as CM
from launchlib.runfolder.records import Decision, Evidence, Firing
from launchlib.runfolder.status import TriggerState

__all__ = ["Decision", "Evidence", "Firing", "TriggerEngine", "TriggerRule", "evaluate"]


def _proceed(until: float | None) -> Decision:
    return Decision(decision="proceed", tier=None, decided_at=None, triggers=[], evaluated_until=until)


@dataclass
class TriggerRule:
    tier: TriggerTier
    trigger: Trigger
    cls_idx: list[int]
    window: int  # buckets
    hold: float  # seconds


@dataclass
class TriggerEngine:
    """Incremental trigger evaluation from the deploy on; see the module docstring."""

    plan: Plan
    deploy_at: float
    compress: float = 1.0
    lateness_s: float = 0.0
    restart_at: float | None = None  # the deploy's restart began: neither release until deploy_at
    interval_s: float = field(init=False)
    min_samples: int = field(init=False)
    settle_s: float = field(init=False)

    def __post_init__(self) -> None:
        mon = self.plan.monitoring
        self.interval_s = mon.interval_s / self.compress
        self.min_samples = mon.min_samples
        self.settle_s = mon.for_s / self.compress
        self.class_names = sorted(set(mon.endpoint_classes.values()))
        statuses = {t.condition.status for _, t in self.plan.triggers() if t.condition.status is not None}
        latency = {CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION}
        lat_classes = sorted(
            {
                self.class_names.index(x)
                for _, t in self.plan.triggers()
                if t.condition.metric in latency
                for x in t.condition.classes
            }
        )
        self.agg = Aggregates(
            self.deploy_at,
            self.interval_s,
            self.class_names,
            tuple(sorted(statuses)),
            tuple(lat_classes),
            restart_at=self.restart_at,
        )
        self.rules: list[TriggerRule] = []
        for tier, trig in self.plan.triggers():
            c = trig.condition
            window_s = (c.window_s if c.window_s is not None else mon.window_s) / self.compress
            hold = (c.for_s if c.for_s is not None else mon.for_s) / self.compress
            if c.metric in latency:  # a p95 needs samples: at high compression, a floor in real time
                window_s, hold = max(window_s, mon.min_real_window_s), max(hold, mon.min_real_for_s)
            idx = [self.class_names.index(x) for x in c.classes]
            self.rules.append(TriggerRule(tier, trig, idx, max(1, round(window_s / self.interval_s)), hold))
        self.events: list[tuple[float, str]] = []
        self.evaluated = 0  # last evaluation index k done
        self.baseline_span_s = 600.0  # real s before the deploy a source without samples takes as baseline
        self._run_start: dict[str, float | None] = {r.trigger.id: None for r in self.rules}
        self._latest: dict[str, float] = {}  # each trigger's value at the latest evaluation
        self._latest_t: float | None = None
        self.fired: dict[str, Firing] = {}
        self._history: list[dict[str, np.ndarray]] = []  # each evaluation's columns
        self._measured: dict[str, np.ndarray] = {}  # p95 in ms behind each degradation value
        self._base: tuple[float, int, float] | None = None  # baseline p95, samples, span

    # -- input -------------------------------------------------------------------------
    def feed(self, samples: pd.DataFrame | RowArrays) -> None:
        """Add sample rows (any order); rows at or before an evaluated time are too late."""
        if isinstance(samples, pd.DataFrame):
            samples = self.rows(samples)
        self.agg.add(samples)

    def rows(self, samples: pd.DataFrame) -> RowArrays:
        """A samples table as the engine's row arrays (reusable, e.g. for success criteria)."""
        mon = self.plan.monitoring
        return to_rows(samples, self.class_names, mon.endpoint_classes, mon.max_client_stall_ms)

    def share(self, other: TriggerEngine) -> None:
        """Judge the rows ``other`` was fed without feeding them again (a what-if variant of the
        same plan: other thresholds, windows or ``for``, the same classes and interval)."""
        a, b = self.agg, other.agg
        keys = ("deploy_at", "interval_s", "class_names", "statuses", "latency_classes", "restart_at")
        if any(getattr(a, k) != getattr(b, k) for k in keys):
            raise ValueError("cannot share aggregates: the engines differ in deploy, interval or classes")
        self.agg = b

    def feed_events(self, events: Iterable[tuple[float, str]]) -> None:
        """Add external events, e.g. ``(ts, "security_alert")``, or a trigger id for a manual one."""
        self.events += [(float(t), str(e)) for t, e in events]

    # -- evaluation --------------------------------------------------------------------
    def advance(self, until: float) -> list[Firing]:
        """Evaluate every evaluation time ``t <= until - lateness``; returns the new firings."""
        last_k = math.floor((until - self.lateness_s - self.deploy_at) / self.interval_s + 1e-9)
        if last_k <= self.evaluated:
            return []
        ks = np.arange(self.evaluated + 1, last_k + 1)
        self.evaluated = last_k
        return self.apply(ks, self._values(ks))

    def _values(self, ks: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each trigger: (value, samples, condition true) at each evaluation k, computed by the
        metric's entry in :data:`_METRICS` (one function per kind of condition)."""
        t = self.deploy_at + ks * self.interval_s
        return {r.trigger.id: _METRICS[r.trigger.condition.metric](self, r, ks, t) for r in self.rules}

    def _event_count(self, r: TriggerRule, ks: np.ndarray, t: np.ndarray) -> _Values:
        """Events (or manual triggers) of the trigger's name inside its window."""
        c = r.trigger.condition
        lo = np.maximum(t - r.window * self.interval_s, self.deploy_at)
        name = c.event if c.metric is CM.EVENT else r.trigger.id
        times = np.array(sorted(e for e, n in self.events if n == name))
        value = (np.searchsorted(times, t, "right") - np.searchsorted(times, lo, "right")).astype(float)
        return value, value.astype(np.int64), value > 0

    def _since_last_sample(self, r: TriggerRule, ks: np.ndarray, t: np.ndarray) -> _Values:
        """Launch seconds since the last answer (of the trigger's classes, or any sample)."""
        seen = self._last_answered(ks, r.cls_idx) if r.cls_idx else self._last_seen(ks)
        value = (t - seen) * self.compress  # launch seconds, as the threshold is
        return value, np.zeros(len(ks), np.int64), r.trigger.condition.holds(value)

    def _ratio(self, r: TriggerRule, ks: np.ndarray, t: np.ndarray) -> _Values:
        """The failure (or success) ratio over the window, judged on enough samples."""
        agg, c = self.agg, r.trigger.condition
        total = agg.window_sum(agg.total[:, r.cls_idx], ks, r.window).sum(axis=1)
        failed = agg.window_sum(agg.failed[:, r.cls_idx], ks, r.window).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = failed / total
        if c.metric is CM.SUCCESS_RATIO:
            value = 1.0 - value
        return _judged(c, value, total, total >= self.min_samples)

    def _latency(self, r: TriggerRule, ks: np.ndarray, t: np.ndarray) -> _Values:
        """The window's p95 (or its rise over the baseline's p95, with the minimum change)."""
        agg, c = self.agg, r.trigger.condition
        slots = agg.slots(r.cls_idx)
        value, total = agg.window_quantile(slots, ks, r.window, 0.95)
        enough = total >= self.min_samples
        if c.metric is CM.LATENCY_P95_DEGRADATION:
            base = agg.base_hist[slots].sum(axis=0)
            n_base = int(base.sum())
            base_p95 = hist_quantile(base, 0.95)[0] if n_base >= self.min_samples else np.nan
            span = agg.base_last_ts - agg.base_first_ts if n_base else 0.0
            self._base = (float(base_p95), n_base, float(span) * self.compress)
            self._measured[r.trigger.id] = value
            change = value - base_p95
            value = value / base_p95 - 1.0
            enough &= not math.isnan(base_p95)
            with np.errstate(invalid="ignore"):
                enough &= change >= (c.min_change_ms or 0.0)
        return _judged(c, value, total, enough)

    def _count(self, r: TriggerRule, ks: np.ndarray, t: np.ndarray) -> _Values:
        """Answers that succeeded (OK_COUNT) or had one status, in the window: any count is news."""
        agg, c = self.agg, r.trigger.condition
        total = agg.window_sum(agg.total[:, r.cls_idx], ks, r.window).sum(axis=1)
        if c.metric is CM.OK_COUNT:
            arr = agg.ok[:, r.cls_idx]
        else:
            assert c.status is not None
            arr = agg.by_status[c.status][:, r.cls_idx]
        value = agg.window_sum(arr, ks, r.window).sum(axis=1).astype(float)
        return _judged(c, value, total, np.ones(len(ks), bool))

    def _last_seen(self, ks: np.ndarray) -> np.ndarray:
        last = np.maximum.accumulate(np.r_[self.agg.base_last_ts, self.agg.last_ts[1:]])
        idx = np.minimum(ks, len(last) - 1)
        seen = last[idx]
        return np.where(np.isfinite(seen), seen, self.deploy_at)

    def _last_answered(self, ks: np.ndarray, cls_idx: list[int]) -> np.ndarray:
        """Newest answered sample of these classes at or before each evaluation k."""
        per_bucket = self.agg.last_answered[:, cls_idx].max(axis=1)
        base = float(self.agg.base_last_answered[cls_idx].max())
        last = np.maximum.accumulate(np.r_[base, per_bucket[1:]])
        seen = last[np.minimum(ks, len(last) - 1)]
        return np.where(np.isfinite(seen), seen, self.deploy_at)

    def apply(
        self, ks: np.ndarray, values: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> list[Firing]:
        """Apply the ``for`` rule to condition values at evaluations ``ks`` (from samples or Prometheus)."""
        self.evaluated = max(self.evaluated, int(ks.max()))
        new: list[Firing] = []
        t = self.deploy_at + ks * self.interval_s
        for r in self.rules:
            tid = r.trigger.id
            value, n, true = values[tid]
            start = self._run_start[tid]
            for i in range(len(ks)):
                if not true[i]:
                    start = None
                    continue
                if start is None:
                    start = float(t[i])
                if tid not in self.fired and t[i] - start >= r.hold - 1e-9:
                    c = r.trigger.condition
                    ev = Evidence(
                        value=float(value[i]),
                        op=c.op.value if c.op else "event",
                        threshold=c.threshold,
                        window_start=float(max(t[i] - r.window * self.interval_s, self.deploy_at)),
                        window_end=float(t[i]),
                        samples=int(n[i]),
                        first_true=start,
                        unit=c.unit.value if c.unit else "",
                    )
                    if tid in self._measured and self._base is not None:
                        ev.measured_ms = float(self._measured[tid][i])
                        ev.baseline_ms, ev.baseline_samples, ev.baseline_span_s = self._base
                        ev.min_change_ms = c.min_change_ms
                    self.fired[tid] = Firing(id=tid, tier=r.tier.id, first_at=float(t[i]), evidence=ev)
                    new.append(self.fired[tid])
            self._run_start[tid] = start
            if len(value):
                self._latest[tid] = float(value[-1])
        self._latest_t = float(t[-1]) if len(t) else self._latest_t
        row = {"t": t} | {tid: v[0] for tid, v in values.items()}
        self._history.append(row | {f"{tid}:true": v[2] for tid, v in values.items()})
        return new

    # -- output ------------------------------------------------------------------------
    def pending(self) -> list[str]:
        """Triggers whose condition holds now but whose ``for`` period has not yet elapsed."""
        return [tid for tid, start in self._run_start.items() if start is not None and tid not in self.fired]

    def states(self) -> list[TriggerState]:
        """Each trigger at the latest evaluation: quiet, pending (held so far against its ``for``)
        or fired; values and durations as the plan states them (launch seconds)."""
        out = []
        for r in self.rules:
            tid, c = r.trigger.id, r.trigger.condition
            start, fired = self._run_start[tid], self.fired.get(tid)
            value = self._latest.get(tid)
            held = (
                0.0 if start is None or self._latest_t is None else (self._latest_t - start) * self.compress
            )
            out.append(
                TriggerState(
                    id=tid,
                    tier=r.tier.id,
                    state="fired" if fired else "pending" if start is not None else "quiet",
                    value=None if value is None or math.isnan(value) else value,
                    op=c.op.value if c.op else "event",
                    threshold=c.threshold,
                    unit=c.unit.value if c.unit else "",
                    held_s=held,
                    for_s=r.hold * self.compress,
                    fired_at=fired.first_at if fired else None,
                )
            )
        return out

    def decision(self) -> Decision:
        """``rollback`` once a trigger fired; on a less urgent tier only after ``settle_s``.

        One fault often trips several triggers an evaluation or two apart (12 % errors trip the
        controlled tier's 1 % API errors and the fast tier's 5 % error rate). An immediate-tier
        firing decides at once; a fast or controlled one waits one ``for`` period for a more
        urgent trigger on the same fault, so the tier is not decided by which window filled first.
        """
        fired = sorted(self.fired.values(), key=lambda f: (f.first_at, f.tier.rank))
        until = self.deploy_at + self.evaluated * self.interval_s if self.evaluated else None
        if not fired:
            return _proceed(until)
        tier = min((f.tier for f in fired), key=lambda x: x.rank)
        decided = min(f.first_at for f in fired if f.tier is tier)
        if tier.rank > 0:
            decided = max(decided, fired[0].first_at + self.settle_s)
            if until is None or until < decided - 1e-9:
                return _proceed(until)
        return Decision(
            decision="rollback", tier=tier, decided_at=decided, triggers=fired, evaluated_until=until
        )

    def history(self) -> pd.DataFrame:
        """Every evaluation so far: time, each trigger's value and whether its condition held."""
        if not self._history:
            return pd.DataFrame({"t": []})
        # kept as arrays and made a table only when asked: a what-if's 27 variants never ask
        return pd.DataFrame({c: np.concatenate([h[c] for h in self._history]) for c in self._history[0]})


def evaluate(
    plan: Plan,
    samples: pd.DataFrame,
    deploy_at: float,
    events: Iterable[tuple[float, str]] = (),
    until: float | None = None,
    compress: float = 1.0,
) -> tuple[Decision, TriggerEngine]:
    """Batch evaluation of a whole recorded table (up to ``until``, default its last sample)."""
    engine = TriggerEngine(plan, deploy_at, compress=compress)
    engine.feed(samples)
    engine.feed_events(events)
    if until is None:
        seen = np.r_[engine.agg.base_last_ts, engine.agg.last_ts]
        until = float(seen.max()) if np.isfinite(seen).any() else deploy_at
    engine.advance(until)
    return engine.decision(), engine


_Values = tuple[np.ndarray, np.ndarray, np.ndarray]


def _judged(c: Condition, value: np.ndarray, total: np.ndarray, enough: np.ndarray) -> _Values:
    with np.errstate(invalid="ignore"):
        true = enough & c.holds(value)
    return value, total, np.asarray(true, bool)


#: how each kind of condition is computed over the windows: one entry per metric, no if-chain
_METRICS: dict[CM, Callable[[TriggerEngine, TriggerRule, np.ndarray, np.ndarray], _Values]] = {
    CM.EVENT: TriggerEngine._event_count,
    CM.MANUAL: TriggerEngine._event_count,
    CM.SINCE_LAST_SAMPLE_S: TriggerEngine._since_last_sample,
    CM.SUCCESS_RATIO: TriggerEngine._ratio,
    CM.FAILURE_RATIO: TriggerEngine._ratio,
    CM.LATENCY_P95_MS: TriggerEngine._latency,
    CM.LATENCY_P95_DEGRADATION: TriggerEngine._latency,
    CM.OK_COUNT: TriggerEngine._count,
    CM.STATUS_COUNT: TriggerEngine._count,
}
