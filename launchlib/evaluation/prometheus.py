"""Trigger conditions from a Prometheus server instead of raw samples.

The simulator (and a real stack instrumented the same way) exports
``sim_request_duration_seconds`` histograms and ``sim_requests_total`` counters by endpoint,
status and release. ``query_range`` at the evaluation interval gives, per evaluation time,
the same windowed quantities the sample path computes; the engine's ``for`` rule and
decision then run unchanged. Differences, by nature of the source: requests that got no
response are not counted by the server, and Prometheus windows are not clipped at the deploy.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import numpy as np

from launchlib.errors import TargetError
from launchlib.evaluation.triggers import Decision, TriggerEngine, TriggerRule
from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric as CM

__all__ = ["PrometheusSource"]

DURATION = "sim_request_duration_seconds"
REQUESTS = "sim_requests_total"


class PrometheusSource:
    """A Prometheus HTTP API at ``url`` (e.g. ``http://127.0.0.1:9090``)."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 10.0,
        duration_metric: str = DURATION,
        requests_metric: str = REQUESTS,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.duration_metric = duration_metric
        self.requests_metric = requests_metric

    def _get(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            r = httpx.get(f"{self.url}{path}", params=params, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise TargetError(f"prometheus {self.url}: not reachable ({type(exc).__name__})") from None
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200 or body.get("status") != "success":
            raise TargetError(f"prometheus {self.url}: query failed: {body.get('error', r.status_code)}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query(self, expr: str, at: float) -> float | None:
        """One instant value (None when the query returns nothing)."""
        res = self._get("/api/v1/query", {"query": expr, "time": at})
        if not res:
            return None
        v = float(res[0]["value"][1])
        return None if math.isnan(v) else v

    def query_range(self, expr: str, times: np.ndarray) -> np.ndarray:
        """Values of ``expr`` at each of the evenly spaced ``times`` (NaN where absent)."""
        step = float(times[1] - times[0]) if len(times) > 1 else 1.0
        res = self._get(
            "/api/v1/query_range", {"query": expr, "start": times[0], "end": times[-1], "step": step}
        )
        out = np.full(len(times), np.nan)
        for series in res[:1]:
            for t, v in series["values"]:
                i = round((float(t) - times[0]) / step)
                if 0 <= i < len(out):
                    out[i] = float(v)
        return out

    @staticmethod
    def _selector(plan: Plan, classes: tuple[str, ...], extra: str = "") -> str:
        paths = [p for p, c in plan.monitoring.endpoint_classes.items() if c in classes]
        regex = "|".join(f"{p}|{p.rstrip('/')}/.*" for p in paths)
        return f'{{endpoint=~"{regex}"{extra}}}'

    def evaluate(
        self,
        plan: Plan,
        deploy_at: float,
        until: float,
        compress: float = 1.0,
        events: list[tuple[float, str]] | None = None,
        baseline_s: float = 600.0,
    ) -> tuple[Decision, TriggerEngine]:
        """Run the plan's triggers on Prometheus data from the deploy to ``until``.

        The degradation baseline is the p95 over the ``baseline_s`` seconds before the deploy.
        """
        engine = TriggerEngine(plan, deploy_at, compress=compress)
        engine.feed_events(events or [])
        n = math.floor((until - deploy_at) / engine.interval_s + 1e-9)
        if n < 1:
            return engine.decision(), engine
        ks = np.arange(1, n + 1)
        t = deploy_at + ks * engine.interval_s
        event_values = engine._values(ks)  # events and manual triggers need no Prometheus
        values = {
            r.trigger.id: event_values[r.trigger.id]
            if r.trigger.condition.metric in (CM.EVENT, CM.MANUAL)
            else self._rule_values(plan, engine, r, t, deploy_at, baseline_s)
            for r in engine.rules
        }
        engine.apply(ks, values)
        return engine.decision(), engine

    def _rule_values(
        self,
        plan: Plan,
        engine: TriggerEngine,
        rule: TriggerRule,
        t: np.ndarray,
        deploy_at: float,
        baseline_s: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One trigger's value, sample count and whether its condition held, at each time ``t``."""
        c = rule.trigger.condition
        rng = f"[{max(1, round(rule.window * engine.interval_s))}s]"

        def count(extra: str = "") -> str:
            return f"sum(increase({self.requests_metric}{self._selector(plan, c.classes, extra)}{rng}))"

        total = np.nan_to_num(self.query_range(count(), t))
        enough = total >= engine.min_samples
        if c.metric is CM.SINCE_LAST_SAMPLE_S:
            every = np.nan_to_num(self.query_range(f"sum(increase({self.requests_metric}{rng}))", t))
            last = np.maximum.accumulate(np.r_[deploy_at, np.where(every > 0, t, -np.inf)])[1:]
            return t - last, total.astype(np.int64), c.holds(t - last)
        if c.metric in (CM.SUCCESS_RATIO, CM.FAILURE_RATIO):
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.nan_to_num(self.query_range(count(',status=~"5.."'), t)) / total
            if c.metric is CM.SUCCESS_RATIO:
                value = 1.0 - value
        elif c.metric in (CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION):
            bucket = f"{self.duration_metric}_bucket{self._selector(plan, c.classes)}"
            value = 1000.0 * self.query_range(
                f"histogram_quantile(0.95, sum by (le) (increase({bucket}{rng})))", t
            )
            if c.metric is CM.LATENCY_P95_DEGRADATION:
                span = max(1, round(baseline_s))
                base = self.query(
                    f"histogram_quantile(0.95, sum by (le) (increase({bucket}[{span}s])))", deploy_at
                )
                value = value / (1000.0 * base) - 1.0 if base else np.full(len(t), np.nan)
        else:  # counts of responses: a count needs no minimum of samples
            status = ',status=~"2.."' if c.metric is CM.OK_COUNT else f',status="{c.status}"'
            value = np.nan_to_num(self.query_range(count(status), t))
            enough = np.ones(len(t), bool)
        with np.errstate(invalid="ignore"):
            true = enough & c.holds(value)
        return value, total.astype(np.int64), np.asarray(true, bool)
