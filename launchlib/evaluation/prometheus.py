"""Trigger conditions from a Prometheus server instead of the kit's own samples.

The plan's ``monitoring.prometheus`` templates say how to count a class's requests (by status)
and read a latency quantile over a window; for every evaluation time the engine's windowed
quantities are read with ``query_range`` at the evaluation interval, and the engine's ``for``
rule and decision then run unchanged. As in the sample path, a window never reaches back before
the deploy (the early ones are read one by one with the shorter range), and a quantity judged on
fewer than ``min_samples`` requests holds no condition.

Prometheus that does not answer, or answers with no series, is blindness, never a green: the
monitoring-gap trigger (``since_last_sample_s``) counts from the last evaluation at which
Prometheus showed traffic, and no other condition can hold while it sees nothing. Requests that
got no answer are not counted by the server; that is the one thing only the kit's probe sees.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import numpy as np

from launchlib.errors import PlanError, Problem, TargetError
from launchlib.evaluation.triggers import Decision, Firing, TriggerEngine, TriggerRule
from launchlib.plan.model import Plan
from launchlib.plan.promql import metric_names, render
from launchlib.plan.thresholds import ConditionMetric as CM

__all__ = ["Measured", "PrometheusSource", "QueryError"]

_Values = tuple[np.ndarray, np.ndarray, np.ndarray]


class QueryError(TargetError):
    """Prometheus refused a query (``bad_data``): the query is wrong, not the server."""


@dataclass
class Measured:
    """One batch of evaluations read from Prometheus, ready for :meth:`TriggerEngine.apply`."""

    ks: np.ndarray
    values: dict[str, _Values]
    queries: dict[str, str]  # per trigger: the query its value came from
    blind: str | None = None  # why Prometheus could not be read for this batch


@dataclass
class _Batch:
    """Queries answered within one batch, so rules sharing a count ask for it once."""

    t: np.ndarray
    cache: dict[str, np.ndarray] = field(default_factory=dict)


class PrometheusSource:
    """A Prometheus HTTP API at ``url`` (e.g. ``http://127.0.0.1:9090``), read with the plan's queries."""

    def __init__(self, url: str, plan: Plan, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.plan = plan
        self.queries = plan.monitoring.prometheus
        self.timeout_s = timeout_s
        self.lag_s = (
            self.queries.scrape_interval_s + 0.5
        )  # a value at t is final once a scrape after t landed
        self._seen: dict[str, float] = {}  # per endpoint regex: the newest time requests showed
        self._baseline: tuple[float, int, float] | None = None  # p95 ms, requests, span (real s)

    # -- the HTTP API ---------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            r = httpx.get(f"{self.url}{path}", params=params, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise TargetError(f"prometheus {self.url}: not reachable ({type(exc).__name__})") from None
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code == 400 and body.get("errorType") == "bad_data":
            raise QueryError(f"prometheus {self.url}: query refused: {body.get('error')}")
        if r.status_code != 200 or body.get("status") != "success":
            raise TargetError(f"prometheus {self.url}: query failed: {body.get('error', r.status_code)}")
        return body["data"]

    def query(self, expr: str, at: float) -> float | None:
        """One instant value (None when the query returns no series or NaN)."""
        res = self._get("/api/v1/query", {"query": expr, "time": at})["result"]
        if not res:
            return None
        v = float(res[0]["value"][1])
        return None if math.isnan(v) else v

    def query_range(self, expr: str, times: np.ndarray) -> np.ndarray:
        """Values of ``expr`` at each of the evenly spaced ``times`` (NaN where absent)."""
        step = float(times[1] - times[0]) if len(times) > 1 else 1.0
        res = self._get(
            "/api/v1/query_range", {"query": expr, "start": times[0], "end": times[-1], "step": step}
        )["result"]
        out = np.full(len(times), np.nan)
        for series in res[:1]:
            for t, v in series["values"]:
                i = round((float(t) - times[0]) / step)
                if 0 <= i < len(out):
                    out[i] = float(v)
        return out

    # -- before a run: is this Prometheus usable with this plan? --------------------------
    def check(self, plan_file: str, require_metrics: bool = True) -> None:
        """Refuse (one line each) an unreachable Prometheus, a query it cannot parse, and with
        ``require_metrics`` a metric it has never seen (the plan names the wrong one)."""
        self._get("/api/v1/status/buildinfo", {})
        known = set(self._get("/api/v1/label/__name__/values", {})) if require_metrics else set()
        problems = []
        for key in ("requests", "latency_quantile"):
            query = self._render(key, "/health", ".*", 1.0)
            try:
                self._get("/api/v1/query", {"query": query})
            except QueryError as exc:
                problems.append(Problem(plan_file, f"monitoring.prometheus.{key}", str(exc)))
                continue
            for name in sorted(metric_names(query) - known if require_metrics else set()):
                why = f"metric {name} is unknown to prometheus {self.url} (it has {len(known)} metrics)"
                problems.append(Problem(plan_file, f"monitoring.prometheus.{key}", why))
        if problems:
            raise PlanError(problems)

    def empty_queries(self, window_s: float = 300.0) -> list[str]:
        """The plan's queries (every monitored endpoint, the last ``window_s``) that return no
        series now: a judge that would see nothing."""
        out = []
        for key in ("requests", "latency_quantile"):
            query = self._render(key, self._endpoints(()), ".*", window_s)
            if not self._get("/api/v1/query", {"query": query})["result"]:
                out.append(query)
        return out

    # -- queries --------------------------------------------------------------------------
    def _render(self, key: str, endpoints: str, status: str, window_s: float, quantile: float = 0.95) -> str:
        window = f"{max(1, round(window_s * 1000))}ms"
        q = self.queries
        if key == "requests":
            return render(q.requests, endpoints=endpoints, status=status, window=window)
        return render(q.latency_quantile, endpoints=endpoints, window=window, quantile=f"{quantile:g}")

    def period(
        self, classes: tuple[str, ...], start: float, end: float, quantile: float | None
    ) -> float | None:
        """Over ``(start, end]``: the classes' latency quantile in ms, or (``quantile`` None)
        their failure ratio; None when Prometheus has nothing for them."""
        where = self._endpoints(classes)
        if quantile is not None:
            v = self.query(self._render("latency_quantile", where, "", end - start, quantile), end)
            return None if v is None else 1000.0 * v
        total = self.query(self._render("requests", where, ".*", end - start), end)
        failed = self.query(self._render("requests", where, "5..", end - start), end)
        return None if not total else (failed or 0.0) / total

    def _endpoints(self, classes: tuple[str, ...]) -> str:
        paths = [p for p, c in self.plan.monitoring.endpoint_classes.items() if not classes or c in classes]
        return "|".join(f"{p}|{p.rstrip('/')}/.*" for p in paths)

    def _read(
        self, batch: _Batch, engine: TriggerEngine, make: Callable[[float], str], window: int, ks: np.ndarray
    ) -> np.ndarray:
        """``make(window_s)``'s query at each evaluation ``ks``; windows clipped at the deploy."""
        out = np.full(len(ks), np.nan)
        full = ks >= window
        if full.any():
            q = make(window * engine.interval_s)
            if q not in batch.cache:
                batch.cache[q] = self.query_range(q, batch.t[full])
            out[full] = batch.cache[q]
        for i in np.flatnonzero(~full):  # the first windows after the deploy: shorter ranges
            q = make(int(ks[i]) * engine.interval_s)
            at = float(batch.t[i])
            key = f"{q}@{at}"
            if key not in batch.cache:
                v = self.query(q, at)
                batch.cache[key] = np.array([np.nan if v is None else v])
            out[i] = batch.cache[key][0]
        return out

    # -- evaluation -----------------------------------------------------------------------
    def measure(self, engine: TriggerEngine, until: float) -> Measured | None:
        """The evaluations up to ``until`` not yet applied (None when there is none). Prometheus
        unreachable: every condition false but the gap, which grows (the batch says why)."""
        last_k = math.floor((until - engine.deploy_at) / engine.interval_s + 1e-9)
        if last_k <= engine.evaluated:
            return None
        ks = np.arange(engine.evaluated + 1, last_k + 1)
        try:
            return self._measure(engine, ks)
        except QueryError:
            raise
        except TargetError as exc:
            return self._blind(engine, ks, str(exc))

    def _measure(self, engine: TriggerEngine, ks: np.ndarray) -> Measured:
        batch = _Batch(engine.deploy_at + ks * engine.interval_s)
        values, queries = {}, {}
        for r in engine.rules:
            metric = r.trigger.condition.metric
            if metric in (CM.EVENT, CM.MANUAL):  # events and manual triggers need no Prometheus
                values[r.trigger.id] = engine._event_count(r, ks, batch.t)
            elif metric is CM.SINCE_LAST_SAMPLE_S:
                values[r.trigger.id], queries[r.trigger.id] = self._gap(batch, engine, r, ks)
            else:
                values[r.trigger.id], queries[r.trigger.id] = self._rule(batch, engine, r, ks)
        return Measured(ks, values, queries)

    def _blind(self, engine: TriggerEngine, ks: np.ndarray, why: str) -> Measured:
        t = engine.deploy_at + ks * engine.interval_s
        n, none = len(ks), np.zeros(len(ks), np.int64)
        values, queries = {}, {}
        for r in engine.rules:
            c = r.trigger.condition
            if c.metric in (CM.EVENT, CM.MANUAL):
                values[r.trigger.id] = engine._event_count(r, ks, t)
            elif c.metric is CM.SINCE_LAST_SAMPLE_S:
                gap = (t - self._seen.get(self._endpoints(c.classes), engine.deploy_at)) * engine.compress
                values[r.trigger.id] = (gap, none, c.holds(gap))
                queries[r.trigger.id] = self._gap_query(engine, r)
            else:
                values[r.trigger.id] = (np.full(n, np.nan), none, np.zeros(n, bool))
        return Measured(ks, values, queries, blind=why)

    def _gap_query(self, engine: TriggerEngine, rule: TriggerRule) -> str:
        """Requests over a few scrapes: more than zero means Prometheus shows the service."""
        span = max(engine.interval_s, 2.5 * self.queries.scrape_interval_s)
        return self._render("requests", self._endpoints(rule.trigger.condition.classes), ".*", span)

    def _gap(
        self, batch: _Batch, engine: TriggerEngine, rule: TriggerRule, ks: np.ndarray
    ) -> tuple[_Values, str]:
        """Launch seconds since Prometheus last showed requests (of the trigger's classes, or any):
        counted over a few scrapes, so a gap reads up to that much short, never long."""
        c = rule.trigger.condition
        where, query = self._endpoints(c.classes), self._gap_query(engine, rule)
        n = self._read(batch, engine, lambda _w: query, 0, ks)
        shown = np.where(np.nan_to_num(n) > 0, batch.t, -np.inf)
        last = np.maximum.accumulate(np.r_[self._seen.get(where, engine.deploy_at), shown])[1:]
        self._seen[where] = float(last[-1])
        gap = (batch.t - last) * engine.compress
        return (gap, np.nan_to_num(n).astype(np.int64), c.holds(gap)), query

    def _rule(
        self, batch: _Batch, engine: TriggerEngine, rule: TriggerRule, ks: np.ndarray
    ) -> tuple[_Values, str]:
        """A ratio, latency or count trigger's value, request count and whether its condition held."""
        c = rule.trigger.condition
        # a rate needs a few scrapes in its range: at high compression a 20-s window is 0.7 real s
        steps = max(rule.window, math.ceil(4 * self.queries.scrape_interval_s / engine.interval_s - 1e-9))
        where, span = self._endpoints(c.classes), steps * engine.interval_s

        def requests(status: str) -> Callable[[float], str]:
            return lambda w: self._render("requests", where, status, w)

        def read(make: Callable[[float], str]) -> np.ndarray:
            return self._read(batch, engine, make, steps, ks)

        total = np.nan_to_num(read(requests(".*")))
        enough = total >= engine.min_samples
        if c.metric in (CM.SUCCESS_RATIO, CM.FAILURE_RATIO):
            make = requests("5..")
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.nan_to_num(read(make)) / total
            value = 1.0 - value if c.metric is CM.SUCCESS_RATIO else value
        elif c.metric in (CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION):
            make = partial(self._render, "latency_quantile", where, "")
            value = 1000.0 * read(make)
            if c.metric is CM.LATENCY_P95_DEGRADATION:
                value, enough = self._degradation(engine, rule, where, value, enough)
        else:  # counts of responses: a count needs no minimum of requests
            make = requests("2.." if c.metric is CM.OK_COUNT else str(c.status))
            value = np.nan_to_num(read(make))
            enough = np.ones(len(ks), bool)
        with np.errstate(invalid="ignore"):
            true = enough & c.holds(value)
        return (value, total.astype(np.int64), np.asarray(true, bool)), make(span)

    def _degradation(
        self, engine: TriggerEngine, rule: TriggerRule, where: str, p95_ms: np.ndarray, enough: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rise of the window's p95 over the baseline's (the pre-deploy span the engine was
        given), with the plan's minimum change; the evidence gets both p95s."""
        if self._baseline is None:
            span = max(1.0, engine.baseline_span_s)
            base = self.query(self._render("latency_quantile", where, "", span), engine.deploy_at)
            n = self.query(self._render("requests", where, ".*", span), engine.deploy_at)
            self._baseline = (math.nan if base is None else 1000.0 * base, round(n or 0), span)
        base_ms, n_base, span = self._baseline
        if n_base < engine.min_samples:
            base_ms = math.nan
        engine._base = (base_ms, n_base, span * engine.compress)
        engine._measured[rule.trigger.id] = p95_ms
        with np.errstate(invalid="ignore", divide="ignore"):
            change = p95_ms - base_ms
            value = p95_ms / base_ms - 1.0
            enough = (
                enough & (not math.isnan(base_ms)) & (change >= (rule.trigger.condition.min_change_ms or 0.0))
            )
        return value, enough

    def apply(self, engine: TriggerEngine, measured: Measured) -> list[Firing]:
        """Apply a batch; each new firing's evidence names the query its value came from."""
        firings = engine.apply(measured.ks, measured.values)
        for f in firings:
            f.evidence.query = measured.queries.get(f.id)
        return firings

    def evaluate(
        self,
        deploy_at: float,
        until: float,
        compress: float = 1.0,
        events: list[tuple[float, str]] | None = None,
        baseline_s: float = 600.0,
    ) -> tuple[Decision, TriggerEngine]:
        """Judge a past window: the plan's triggers on Prometheus data from the deploy to ``until``
        (the degradation baseline is the ``baseline_s`` seconds before the deploy)."""
        engine = TriggerEngine(self.plan, deploy_at, compress=compress)
        engine.baseline_span_s = baseline_s
        engine.feed_events(events or [])
        measured = self.measure(engine, until)
        if measured is not None:
            if measured.blind:
                raise TargetError(measured.blind)
            self.apply(engine, measured)
        return engine.decision(), engine


def wait_for_scrape(url: str, after: float, timeout_s: float) -> bool:
    """Whether Prometheus at ``url`` holds a scrape taken after ``after`` within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = httpx.get(f"{url}/api/v1/query", params={"query": "max(timestamp(up))"}, timeout=2).json()
            result = got["data"]["result"]
            if result and float(result[0]["value"][1]) >= after:
                return True
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    return False
