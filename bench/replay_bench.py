"""Replay of 10 million samples from Parquet, against DuckDB and a plain pandas rolling quantile.

Run: .venv/bin/python bench/replay_bench.py [--rows N]
Prints the replay's wall time and peak memory (the CLI in a child process, imports included),
DuckDB's quantile_cont grouped by 10-s window, pandas rolling('60s').quantile, and the ratios.
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


if __name__ == "__main__":
    main()
