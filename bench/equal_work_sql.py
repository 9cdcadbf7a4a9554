"""The equal-work anchor for replay: the SQL a user would write in DuckDB to make replay's decisions.

For every evaluation step after the deploy (every ``interval_s``), each trigger's windowed value
over its endpoint classes — exact sliding p95 over the plan's window (a range join of the raw
latencies onto the steps: p95s do not add up across buckets), failure and success ratios and
status counts from per-bucket sums, seconds since the last answer, the degradation against the
pre-deploy p95 — then, per trigger, the first step at which its condition has held for its
``for`` (gaps and islands). Equal work to ``launchlib replay`` (which keeps log-linear latency
histograms per bucket instead of exact quantiles). Triggers on events or raised by hand need
events, which a samples file does not have: they never fire here, as in a replay without events.

Used by ``bench/replay_bench.py`` (the time) and ``tests/test_replay.py`` (the decisions).
"""

from __future__ import annotations

import math

import duckdb

from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric as CM

__all__ = ["sql_first_firings"]

_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "="}


def _classes_sql(plan: Plan) -> str:
    """Endpoint → class, by longest prefix as the engine classifies (a VALUES table)."""
    rows = ", ".join(f"('{p}', '{c}', {len(p)})" for p, c in plan.monitoring.endpoint_classes.items())
    return f"(VALUES {rows}) AS m(prefix, cls, plen)"


def _prepare(con: duckdb.DuckDBPyConnection, source: str, plan: Plan, deploy: float) -> int:
    """Table ``s`` (ts, cls, status, lat, b: the step bucket) and the last step to evaluate."""
    iv = plan.monitoring.interval_s
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE s AS
        WITH e AS (SELECT DISTINCT endpoint FROM {source}),
        c AS (SELECT e.endpoint, arg_max(m.cls, m.plen) AS cls FROM e JOIN {_classes_sql(plan)}
              ON e.endpoint = m.prefix OR starts_with(e.endpoint, rtrim(m.prefix, '/') || '/')
              GROUP BY e.endpoint)
        SELECT ts, c.cls, status, CASE WHEN status > 0 AND NOT isnan(latency_ms) THEN latency_ms END AS lat,
               CAST(ceil((ts - {deploy}) / {iv}) AS BIGINT) AS b
        FROM {source} JOIN c USING (endpoint)""")
    last = con.execute("SELECT max(ts) FROM s").fetchone()[0]
    return math.floor((float(last) - deploy) / iv + 1e-9)


def _window_values(
    trig_metric: CM,
    classes: list[str],
    w: int,
    last_k: int,
    cond_status: int | None,
    deploy: float,
    iv: float,
) -> str:
    """SQL of (k, value, n) for one trigger's metric over its classes and a window of ``w`` steps."""
    cls = ", ".join(f"'{c}'" for c in classes)
    steps = f"(SELECT range AS k FROM range(1, {last_k + 1})) AS st"
    if trig_metric in (CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION):
        return (
            f"SELECT k, quantile_cont(lat, 0.95) AS value, count(lat) AS n FROM {steps} "
            f"LEFT JOIN s ON s.b > k - {w} AND s.b <= k AND s.cls IN ({cls}) AND s.lat IS NOT NULL GROUP BY k"
        )
    if trig_metric is CM.SINCE_LAST_SAMPLE_S:  # the newest answer so far (the baseline's is step 0)
        who = f"AND cls IN ({cls}) AND status > 0" if classes else ""
        last = f"(SELECT greatest(b, 0) AS b, max(ts) AS mt FROM s WHERE TRUE {who} GROUP BY 1)"
        seen = (
            f"SELECT k, max(mt) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) AS seen "
            f"FROM (SELECT range AS k FROM range(0, {last_k + 1})) AS st LEFT JOIN {last} x ON x.b = st.k"
        )
        value = f"{deploy} + {iv} * k - coalesce(seen, {deploy})"
        return f"SELECT k, {value} AS value, 0 AS n FROM ({seen}) WHERE k >= 1"
    hit = {
        CM.FAILURE_RATIO: "status = 0 OR status >= 500",
        CM.SUCCESS_RATIO: "status = 0 OR status >= 500",
        CM.OK_COUNT: "status BETWEEN 200 AND 299",
        CM.STATUS_COUNT: f"status = {cond_status}",
    }[trig_metric]
    per_bucket = (
        f"(SELECT b, count(*) AS n, count(*) FILTER ({hit}) AS h FROM s WHERE cls IN ({cls}) GROUP BY b)"
    )
    frame = f"OVER (ORDER BY k ROWS BETWEEN {w - 1} PRECEDING AND CURRENT ROW)"
    summed = (
        f"SELECT k, sum(coalesce(n, 0)) {frame} AS n, sum(coalesce(h, 0)) {frame} AS h "
        f"FROM {steps} LEFT JOIN {per_bucket} x ON x.b = st.k"
    )
    if trig_metric is CM.FAILURE_RATIO:
        return f"SELECT k, h / n AS value, n FROM ({summed})"
    if trig_metric is CM.SUCCESS_RATIO:
        return f"SELECT k, 1 - h / n AS value, n FROM ({summed})"
    return f"SELECT k, h AS value, n FROM ({summed})"


def sql_first_firings(
    con: duckdb.DuckDBPyConnection, source: str, plan: Plan, deploy: float
) -> dict[str, float]:
    """Wall time each trigger first fires (held for its ``for``), by trigger id, from SQL alone."""
    mon, iv = plan.monitoring, plan.monitoring.interval_s
    last_k = _prepare(con, source, plan, deploy)
    out: dict[str, float] = {}
    for _, trig in plan.triggers():
        c = trig.condition
        if c.metric in (CM.EVENT, CM.MANUAL) or c.op is None or c.threshold is None:
            continue
        window_s = c.window_s if c.window_s is not None else mon.window_s
        hold = c.for_s if c.for_s is not None else mon.for_s
        if c.metric in (CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION):
            window_s, hold = max(window_s, mon.min_real_window_s), max(hold, mon.min_real_for_s)
        w = max(1, round(window_s / iv))
        values = _window_values(c.metric, list(c.classes), w, last_k, c.status, deploy, iv)
        op, thr = _OPS[c.op.value], c.threshold
        if c.metric is CM.LATENCY_P95_DEGRADATION:
            cls = ", ".join(f"'{x}'" for x in c.classes)
            base = (
                f"(SELECT quantile_cont(lat, 0.95) AS p, count(lat) AS nb FROM s WHERE ts <= {deploy} "
                f"AND cls IN ({cls}) AND lat IS NOT NULL)"
            )
            cond = (
                f"nb >= {mon.min_samples} AND n >= {mon.min_samples} "
                f"AND value - p >= {c.min_change_ms or 0.0} AND value / p - 1 {op} {thr}"
            )
            judged = f"SELECT k, {cond} AS ok FROM ({values}) v, {base} bl"
        elif c.metric in (CM.FAILURE_RATIO, CM.SUCCESS_RATIO, CM.LATENCY_P95_MS):
            ok = f"coalesce(n >= {mon.min_samples} AND value {op} {thr}, FALSE)"
            judged = f"SELECT k, {ok} AS ok FROM ({values})"
        else:
            judged = f"SELECT k, coalesce(value {op} {thr}, FALSE) AS ok FROM ({values})"
        first = con.execute(f"""
            WITH j AS ({judged}), t AS (SELECT k, k - row_number() OVER (ORDER BY k) AS grp FROM j WHERE ok),
            r AS (SELECT k, min(k) OVER (PARTITION BY grp) AS k0 FROM t)
            SELECT min(k) FROM r WHERE (k - k0) * {iv} >= {hold} - 1e-9""").fetchone()[0]
        if first is not None:
            out[trig.id] = deploy + first * iv
    return out
