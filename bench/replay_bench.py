"""Replay of 10 million samples from Parquet, against DuckDB and a plain pandas rolling quantile.

Run: .venv/bin/python bench/replay_bench.py [--rows N]
Prints the replay's wall time and peak memory (the CLI in a child process, imports included), the
equal-work DuckDB SQL (the same decisions: ``bench/equal_work_sql.py``) and the ratio, DuckDB's
tumbling-window quantile_cont grouped by 10-s window, pandas rolling('60s').quantile, and the ratios;
then a 20-variant what-if grid against 20 single replays, and what DuckDB takes to compute the
per-bucket counts and latency histograms the trigger engine judges from (the least a DuckDB batch
engine would have to do), against its own windowed quantile.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from launchlib.probing.synth import Paint, synthetic_samples

RATE = 300.0
T0 = 1_700_000_000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-pandas", action="store_true")
    args = ap.parse_args()
    duration = args.rows / RATE
    deploy = T0 + duration / 3
    api = ("/api/market", "/api/orders", "/api/risk")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.parquet"
        t = time.perf_counter()
        df = synthetic_samples(duration, RATE, [Paint(duration * 0.8, duration, api, add_ms=400)], t0=T0)
        df.to_parquet(path, index=False)
        print(
            f"generated {len(df):,} rows ({duration / 3600:.1f} h at {RATE:g}/s) "
            f"in {time.perf_counter() - t:.1f} s; "
            f"parquet {path.stat().st_size / 1e6:.0f} MB"
        )
        del df

        cli = Path(sys.executable).with_name("launchlib")
        t = time.perf_counter()
        out = subprocess.run(
            [str(cli), "replay", str(path), "--deploy-at", str(deploy), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        replay_s = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = json.loads(out.stdout)
        print(
            f"launchlib replay (CLI, cold process): {replay_s:.2f} s, peak RSS {peak_mb:.0f} MB, "
            f"decision {result['decision']} {result['tier']}"
        )

        from launchlib.evaluation.replay import replay_file
        from launchlib.plan.files import load_plan

        plan = load_plan("parameters/plan.yaml")
        t = time.perf_counter()
        replay_file(plan, path, deploy)
        warm_s = time.perf_counter() - t
        print(f"replay_file in-process (read + triggers + success criteria): {warm_s:.2f} s")

        con = duckdb.connect()
        t = time.perf_counter()
        con.execute(
            f"SELECT floor(ts / 10) AS w, quantile_cont(latency_ms, [0.95, 0.99]) FROM '{path}' "
            "WHERE latency_ms IS NOT NULL GROUP BY w"
        ).fetchall()
        duck_s = time.perf_counter() - t
        print(
            f"duckdb quantile_cont([0.95, 0.99]) per 10-s window: {duck_s:.2f} s "
            f"-> replay / duckdb = {warm_s / duck_s:.1f}x"
        )

        _equal_work(plan, path, deploy, warm_s)
        _what_if(plan, path, deploy)
        _duckdb_bins(con, path, deploy, duck_s)

        if not args.skip_pandas:
            df = pd.read_parquet(path, columns=["ts", "latency_ms"])
            t = time.perf_counter()
            s = df.set_index(pd.to_datetime(df.ts, unit="s"))["latency_ms"]
            s.rolling("60s").quantile(0.95)
            pandas_s = time.perf_counter() - t
            print(
                f"pandas rolling('60s').quantile(0.95): {pandas_s:.2f} s "
                f"-> pandas / replay = {pandas_s / warm_s:.1f}x"
            )


def _equal_work(plan, path: Path, deploy: float, warm_s: float) -> None:
    """The SQL a user would write for replay's decisions (``bench/equal_work_sql.py``), on the same
    file: its time against replay's, and whether the two fire the same triggers at the same steps."""
    sys.path.insert(0, str(Path(__file__).parent))
    from equal_work_sql import sql_first_firings

    from launchlib.evaluation.sources import read_samples
    from launchlib.evaluation.triggers import evaluate

    t = time.perf_counter()
    sql = sql_first_firings(duckdb.connect(), f"read_parquet('{path}')", plan, deploy)
    sql_s = time.perf_counter() - t
    _, engine = evaluate(plan, read_samples(path), deploy)
    same = sql == {tid: f.first_at for tid, f in engine.fired.items()}
    print(
        f"equal-work duckdb SQL (sliding exact p95s, ratios, counts, for; {len(sql)} triggers fired): "
        f"{sql_s:.2f} s -> replay / SQL = {warm_s / sql_s:.2f}x; same firings as replay: {same}"
    )


def _what_if(plan, path: Path, deploy: float) -> None:
    """20 variants on bins computed once, against one replay of the same samples (×20)."""
    from launchlib.evaluation.sources import read_samples
    from launchlib.evaluation.triggers import evaluate
    from launchlib.evaluation.whatif import variant_grid, what_if

    df = read_samples(path)
    t = time.perf_counter()
    evaluate(plan, df, deploy)
    single_s = time.perf_counter() - t
    grid = variant_grid()[:20]
    t = time.perf_counter()
    what_if(plan, df, deploy, variants=grid)
    grid_s = time.perf_counter() - t
    print(
        f"one replay of the triggers: {single_s:.2f} s; what-if, {len(grid)} variants: {grid_s:.2f} s "
        f"-> 20 replays / what-if = {20 * single_s / grid_s:.1f}x"
    )


def _duckdb_bins(con: duckdb.DuckDBPyConnection, path: Path, deploy: float, duck_s: float) -> None:
    """The engine's inputs in SQL: counts per 10-s bucket and class, and the log-linear latency
    bins (the engine's ``hist_bin``: exponent, then 64 steps per power of two)."""
    classes = {"/health": 1, "/api/market": 0, "/api/orders": 5, "/api/risk": 3, "/api/integrity": 2}
    eps = [e for (e,) in con.execute(f"SELECT DISTINCT endpoint FROM '{path}'").fetchall()]
    case = "CASE endpoint " + " ".join(f"WHEN '{e}' THEN {classes.get(e, -1)}" for e in eps) + " ELSE -1 END"
    rows = f"""WITH s AS (SELECT ts, {case} AS cls, latency_ms AS lat, status FROM '{path}'),
      f AS (SELECT *, CASE WHEN cls IN (0, 3, 5) AND status > 0 AND NOT isnan(lat) THEN lat END AS x FROM s),
      g AS (SELECT *, CAST(floor(log2(x)) AS BIGINT) AS e FROM f),
      h AS (SELECT *, e + CASE WHEN x * pow(2.0, -e) < 1 THEN -1 WHEN x * pow(2.0, -e) >= 2 THEN 1 ELSE 0 END
                AS ex FROM g),
      k AS (SELECT ts, status, CAST(ceil((ts - {deploy}) / 10) AS BIGINT) * 8 + cls + 1 AS key,
                (ex + 11) * 64 + CAST(floor((x * pow(2.0, -ex) - 1.0) * 64) AS BIGINT) AS bin FROM h)
    """
    t = time.perf_counter()
    con.execute(
        rows
        + "SELECT key, count(*), count(*) FILTER (status = 0 OR status >= 500), max(ts) FROM k GROUP BY key"
    ).fetchnumpy()
    counts_s = time.perf_counter() - t
    t = time.perf_counter()
    con.execute(rows + "SELECT key, bin, count(*) FROM k WHERE bin IS NOT NULL GROUP BY ALL").fetchnumpy()
    bins_s = time.perf_counter() - t
    print(
        f"duckdb counts per bucket and class: {counts_s:.2f} s ({counts_s / duck_s:.1f}x its quantile); "
        f"latency bins: {bins_s:.2f} s ({bins_s / duck_s:.1f}x); together {(counts_s + bins_s) / duck_s:.1f}x"
    )


if __name__ == "__main__":
    main()
