"""``launchlib analyse`` over a hundred runs and fifty million samples: wall time and peak memory.

Run: .venv/bin/python bench/analysis_bench.py [--runs 100] [--rows 500000] [--corpus DIR]

The corpus is generated once (kept in ``--corpus``, default ``/tmp/launchlib-analysis-corpus``):
one real ``error-burst`` rehearsal is the template (manifest, plan, events, decision, ledger), and
each of ``--runs`` copies gets ``--rows`` synthetic samples over the template's own timeline
(steady before the deploy; every third run with a latency fault after it, every fifth with
errors), written as 50 Parquet parts, as the monitor writes parts through a run.

Measured, side by side in this process:
* ``launchlib analyse 'reports/*' -o analysis.html`` in a child process (the CLI, its kernel, the
  notebook and the page): wall time and the peak resident memory of its process tree (polled);
* the floor: DuckDB counting the rows and the latency p95 per run over the same parts;
* the old way for scale: the whole of ten runs read into pandas (what the analysis did before),
  time and memory, extrapolated to the corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psutil

from launchlib.probing.synth import Paint, synthetic_samples
from launchlib.report.run_data import load_run
from launchlib.runfolder.events import read_run_samples
from launchlib.runner.console import Console
from launchlib.runner.rehearse import rehearse

ROOT = Path(__file__).resolve().parents[1]
LAUNCHLIB = str(Path(sys.prefix) / "bin" / "launchlib")
PARTS = 50


def _template(corpus: Path) -> Path:
    """One real rehearsal, kept: the runs of the corpus are copies of its folder."""
    done = corpus / "template"
    if (done / "error-burst" / "manifest.json").exists():
        return done / "error-burst"
    shutil.rmtree(done, ignore_errors=True)
    run_dir, _ = rehearse(
        "error-burst", run_id="error-burst", reports=done, console=Console(echo=lambda s: None)
    )
    return run_dir


def _samples(template: Path, rows: int, i: int) -> pd.DataFrame:
    """``rows`` samples over the template's timeline, the previous release before its deploy."""
    run = load_run(template, with_results=False)
    start, end, origin = run.manifest.started, run.manifest.finished or time.time(), run.origin or 0.0
    paints = []
    if i % 3 == 0:
        paints.append(Paint(origin - start + 2, end - start, endpoints=("/api/market",), add_ms=400))
    if i % 5 == 0:
        paints.append(
            Paint(origin - start + 4, end - start, endpoints=("/api/orders",), share=0.3, status=500)
        )
    df = synthetic_samples(end - start, rows / (end - start), paints, t0=start, seed=i)
    after = df["ts"].to_numpy() > origin
    rel = run.plan.releases
    df["release"] = np.where(after, rel.candidate, rel.previous)
    df["server_ms"] = df["latency_ms"] * 0.8
    df["client_stall_ms"] = 0.0
    return df


def build(corpus: Path, runs: int, rows: int) -> Path:
    """The corpus's ``reports`` folder, generated unless it already holds ``runs`` × ``rows``."""
    reports = corpus / "reports"
    stamp = corpus / "corpus.json"
    if stamp.exists() and json.loads(stamp.read_text()) == {"runs": runs, "rows": rows}:
        return reports
    template = _template(corpus)
    shutil.rmtree(reports, ignore_errors=True)
    t = time.perf_counter()
    for i in range(runs):
        run_id = f"run-{i:03d}"
        dest = reports / run_id
        shutil.copytree(template, dest, ignore=shutil.ignore_patterns("samples", "*.html", "prometheus"))
        manifest = json.loads((dest / "manifest.json").read_text())
        manifest["run_id"] = run_id
        (dest / "manifest.json").write_text(json.dumps(manifest))
        (dest / "samples").mkdir()
        df = _samples(template, rows, i)
        for k, idx in enumerate(np.array_split(np.arange(len(df)), PARTS)):
            df.iloc[idx].to_parquet(dest / "samples" / f"part-{k:05d}.parquet", index=False)
    stamp.write_text(json.dumps({"runs": runs, "rows": rows}))
    print(f"corpus: {runs} runs × {rows:,} samples generated in {time.perf_counter() - t:.0f} s ({reports})")
    return reports


def _tree_rss(p: psutil.Process) -> int:
    total = 0
    for q in [p, *p.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a process that ended meanwhile
            total += q.memory_info().rss
    return total


def analyse_cli(reports: Path, out: Path) -> tuple[float, float]:
    """``launchlib analyse`` over every run: wall seconds and peak RSS of its process tree (GB)."""
    t = time.perf_counter()
    proc = psutil.Popen(
        [LAUNCHLIB, "analyse", str(reports / "run-*"), "--reports", str(reports), "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc))
        time.sleep(0.05)
    wall = time.perf_counter() - t
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"launchlib analyse exited {proc.returncode}: {output[-2000:]}")
    return wall, peak / 1e9


def duckdb_floor(reports: Path) -> float:
    """DuckDB alone: rows and latency p95 per run over every part (the least any analysis reads)."""
    t = time.perf_counter()
    duckdb.sql(
        f"""select regexp_extract(filename, 'run-[0-9]+') as run, count(*), quantile_cont(latency_ms, 0.95)
        from read_parquet('{reports}/run-*/samples/*.parquet', filename = true) group by run"""
    ).fetchall()
    return time.perf_counter() - t


def pandas_whole(reports: Path, n: int = 10) -> tuple[float, float]:
    """The old way: ``n`` whole runs' samples in pandas at once; seconds and the memory they hold (GB)."""
    t = time.perf_counter()
    frames = [read_run_samples(d) for d in sorted(reports.glob("run-*"))[:n]]
    held = sum(f.memory_usage(deep=True).sum() for f in frames) / 1e9
    return time.perf_counter() - t, held


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/launchlib-analysis-corpus"))
    args = ap.parse_args()
    reports = build(args.corpus, args.runs, args.rows)
    total = args.runs * args.rows
    wall, peak = analyse_cli(reports, args.corpus / "analysis.html")
    floor = duckdb_floor(reports)
    old_s, old_gb = pandas_whole(reports)
    scale = args.runs / 10
    print(
        f"launchlib analyse, {args.runs} runs / {total / 1e6:.0f} M samples:"
        f" {wall:.1f} s, peak RSS {peak:.2f} GB"
    )
    print(
        f"DuckDB scan of the same parts (rows, p95 per run): {floor:.2f} s;"
        f" analyse / scan = {wall / floor:.1f}×"
    )
    print(
        f"whole runs in pandas (the old read), 10 runs: {old_s:.1f} s holding {old_gb:.2f} GB"
        f" → {old_s * scale:.0f} s and {old_gb * scale:.1f} GB for {args.runs}"
    )


if __name__ == "__main__":
    main()
