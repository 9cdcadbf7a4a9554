"""Samples through DuckDB (the analysis over many runs): the same verdicts, rows and what-if as the
samples read whole into pandas, on synthetic runs written as Parquet parts; a damaged part is named."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlib.errors import RunError
from launchlib.evaluation.judge import judge, plan_settings
from launchlib.evaluation.judge_sql import judge_intervals
from launchlib.evaluation.sources import run_rows
from launchlib.evaluation.triggers import TriggerEngine
from launchlib.evaluation.whatif import variant_grid, what_if
from launchlib.plan.files import load_plan
from launchlib.probing.synth import Paint, synthetic_samples
from launchlib.runfolder.sample_query import SampleQuery

T0 = 1_700_000_000.0
DEPLOY = T0 + 100


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return load_plan("parameters/plan.yaml")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A run folder whose samples (60 000, in 6 parts) have a slowdown, errors, unanswered
    requests, stalled measurements and latencies rounded to 0.1 ms (ties, as a probe records)."""
    paints = [
        Paint(130, 200, endpoints=("/api/market",), add_ms=40),
        Paint(150, 200, endpoints=("/api/orders",), share=0.3, status=500),
        Paint(110, 200, endpoints=("/health",), share=0.02, status=0),
    ]
    df = synthetic_samples(200, 300, paints, t0=T0, seed=3)
    df["latency_ms"] = df["latency_ms"].round(1)
    df["release"] = np.where(df["ts"] > DEPLOY, "v1.0-prod-ready", "prod-rollback")
    df["server_ms"] = df["latency_ms"]
    df["client_stall_ms"] = np.where(np.arange(len(df)) % 97 == 0, 5000.0, 0.0)
    folder = tmp_path_factory.mktemp("run")
    (folder / "samples").mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(df)), 6)):
        df.iloc[part].to_parquet(folder / "samples" / f"part-{k:05d}.parquet", index=False)
    return folder, df


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))


def test_the_judge_in_duckdb_gives_scipys_verdicts_for_each_interval(plan, run) -> None:  # type: ignore[no-untyped-def]
    folder, df = run
    s = plan_settings(plan)
    intervals = [(DEPLOY, None), (DEPLOY + 40, T0 + 180), (DEPLOY + 60, None)]
    with SampleQuery() as q:
        got = judge_intervals(q, folder, plan, DEPLOY, intervals, s)
    verdicts = set()
    for (start, end), sql in zip(intervals, got, strict=True):
        seen = df[(df["ts"] <= DEPLOY) | ((df["ts"] > start) & (df["ts"] <= (end or np.inf)))]
        want = judge(plan, seen, DEPLOY, end, s)
        assert [(v.cls, v.metric, v.baseline_n, v.candidate_n, v.verdict) for v in want] == [
            (v.cls, v.metric, v.baseline_n, v.candidate_n, v.verdict) for v in sql
        ]
        for w, v in zip(want, sql, strict=True):
            for field in ("baseline", "candidate", "u", "p_value", "effect"):
                assert _same(getattr(w, field), getattr(v, field)), (field, w, v)
        verdicts |= {v.verdict for v in sql}
    assert {"pass", "fail"} <= verdicts  # the slowdown and the errors are seen, the rest passes


def test_the_engines_rows_from_duckdb_are_the_rows_read_whole(plan, run) -> None:  # type: ignore[no-untyped-def]
    folder, df = run
    whole = TriggerEngine(plan, DEPLOY, compress=30).rows(df)
    with SampleQuery() as q:
        rows = run_rows(q, folder, plan)
        part = run_rows(q, folder, plan, start=DEPLOY, end=T0 + 150)
    for name in ("ts", "cls", "status"):
        assert np.array_equal(getattr(rows, name), getattr(whole, name)), name
    assert np.array_equal(rows.latency, whole.latency, equal_nan=True)
    assert np.isnan(rows.latency).sum() > 600  # the stalled measurements lost their latency
    assert part.ts.min() > DEPLOY and part.ts.max() <= T0 + 150
    assert len(part.ts) == int(((df["ts"] > DEPLOY) & (df["ts"] <= T0 + 150)).sum())


def test_what_if_from_duckdb_rows_matches_the_table(plan, run) -> None:  # type: ignore[no-untyped-def]
    folder, df = run
    grid = variant_grid()
    with SampleQuery() as q:
        rows = run_rows(q, folder, plan, end=T0 + 200)
    a = what_if(plan, df, DEPLOY, compress=30, variants=grid, until=T0 + 200)
    b = what_if(plan, rows, DEPLOY, compress=30, variants=grid, until=T0 + 200)
    pd.testing.assert_frame_equal(a, b)
    assert (a["decision"] == "rollback").any()


def test_a_damaged_part_is_named(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "part-00000.parquet").write_bytes(b"PAR1 not really")
    with SampleQuery() as q, pytest.raises(RunError, match=r"samples: unreadable samples"):
        run_rows(q, tmp_path, plan)
    with SampleQuery() as q:
        assert len(run_rows(q, tmp_path / "nothing", plan).ts) == 0


def test_the_traffic_table_comes_from_the_judges_counts(plan, run) -> None:  # type: ignore[no-untyped-def]
    """Requests, failure share and nearest-rank quantiles per class and side, as pandas computes
    them from the samples read whole (candidate: deploy → the interval's end)."""
    from types import SimpleNamespace

    from launchlib.evaluation.judge_sql import value_counts
    from launchlib.report.traffic import run_traffic

    folder, df = run
    end = T0 + 180
    with SampleQuery() as q:
        counts = value_counts(q, folder, plan, DEPLOY, [(DEPLOY, end)])
    table = run_traffic(SimpleNamespace(manifest=SimpleNamespace(run_id="r")), counts)  # type: ignore[arg-type]
    cls = df["endpoint"].map(plan.monitoring.endpoint_classes)
    assert len(table) == 2 * cls.nunique()
    for row in table.itertuples():
        side = df["ts"] <= DEPLOY if row.side == "baseline" else (df["ts"] > DEPLOY) & (df["ts"] <= end)
        mine = df[side & (cls == row._3)]
        failed = (mine["status"] == 0) | (mine["status"] >= 500)
        answered = np.sort(mine.loc[mine["status"] > 0, "latency_ms"].dropna().to_numpy())
        assert row.requests == len(mine) and row.failed_pct == round(100 * failed.mean(), 2), row
        for got, q_ in ((row.p50_ms, 0.5), (row.p95_ms, 0.95), (row.p99_ms, 0.99)):
            assert got == round(float(answered[int(np.ceil(q_ * len(answered))) - 1]), 1), (row, q_)
    orders = table[(table["class"] == "trading") & (table["side"] == "candidate")].iloc[0]
    assert orders["failed_pct"] > 5  # the errors painted on /api/orders
