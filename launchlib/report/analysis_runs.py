"""The post-launch analysis over many runs: each run's tables computed in worker processes, then
joined into one :class:`Analysis`.

A run's judge, what-if and traffic read only that run's samples (through DuckDB, never whole);
runs are independent, so with more than a few of them they go to a pool of worker processes,
one per core (a thread per run would share one interpreter: the engine's numpy work holds the
GIL often enough that two threads gained 10 %). Each worker keeps one DuckDB connection, its
memory capped so that the workers together stay within :data:`MEMORY_LIMIT`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from launchlib.evaluation.judge import JudgeSettings
from launchlib.evaluation.whatif import Variant
from launchlib.report.analysis import (
    incident_table,
    judge_table,
    run_samples,
    scorecard_table,
    signoff_lateness,
    what_if_table,
)
from launchlib.report.run_data import RunData, load_run
from launchlib.report.traffic import COLUMNS as TRAFFIC
from launchlib.report.traffic import run_traffic
from launchlib.runfolder.sample_query import MEMORY_LIMIT, SampleQuery

__all__ = ["Analysis", "RunTables", "analyse_runs", "run_tables"]

POOL_FROM = 8  # fewer runs are analysed in this process: starting workers costs about a second


@dataclass
class Analysis:
    """Every table of the post-launch analysis over a set of runs (what the notebook shows and glues)."""

    runs: list[RunData]
    scorecards: pd.DataFrame
    traffic: pd.DataFrame  # per run, side and class: requests, failures, latency quantiles
    verdicts: pd.DataFrame  # per run: the judge's overall verdict and score
    judged: pd.DataFrame  # per run, class and metric: baseline against candidate
    what_if: pd.DataFrame  # per run and variant
    incidents: pd.DataFrame
    signoffs: pd.DataFrame

    def summary(self) -> str:
        """One line: how many runs, which (the first and last of many), and how they ended."""
        ids = [r.manifest.run_id for r in self.runs]
        named = ", ".join(ids) if len(ids) <= 6 else f"{', '.join(ids[:3])} … {ids[-1]}"
        ended = Counter(str(r.manifest.outcome) for r in self.runs)
        how = ", ".join(f"{n} {outcome}" for outcome, n in ended.most_common())
        return f"{len(ids)} run{'s' if len(ids) != 1 else ''}: {named} ({how})"

    def glue(self) -> None:
        """Record every table in the running notebook (scrapbook), as JSON records."""
        import scrapbook as sb  # heavy (papermill, nbformat): only in a notebook

        for name in ("scorecards", "traffic", "verdicts", "judged", "what_if", "incidents", "signoffs"):
            frame: pd.DataFrame = getattr(self, name)
            sb.glue(f"analysis_{name}", json.loads(frame.to_json(orient="records")), encoder="json")


@dataclass
class RunTables:
    """What one run adds to the analysis's tables."""

    verdict: dict[str, object]
    judged: pd.DataFrame
    what_if: pd.DataFrame
    traffic: pd.DataFrame


def run_tables(
    r: RunData, variants: list[Variant] | None, settings: JudgeSettings | None, q: SampleQuery
) -> RunTables:
    """One run's judge, what-if and traffic, from one DuckDB read of its samples (:func:`run_samples`)."""
    got = run_samples(r, q)
    table, worst, score = judge_table(r, settings, counts=got.counts if got else None)  # no deploy: no data
    run_id = r.manifest.run_id
    return RunTables(
        verdict={"run": run_id, "verdict": worst, "score": round(score, 1)},
        judged=table.assign(run=run_id) if not table.empty else table,
        what_if=what_if_table(r, variants, q, rows=got.rows if got else None).assign(run=run_id),
        traffic=run_traffic(r, got.counts) if got is not None else pd.DataFrame(columns=TRAFFIC),
    )


_WORKER: dict[str, object] = {}  # a worker process's own connection and job


def _start_worker(memory_limit: str, variants: list[Variant] | None, settings: JudgeSettings | None) -> None:
    _WORKER.update(q=SampleQuery(memory_limit, threads=1), variants=variants, settings=settings)


def _in_worker(run_dir: Path) -> RunTables:
    q = _WORKER["q"]
    assert isinstance(q, SampleQuery)
    run = load_run(run_dir, with_results=False)
    return run_tables(run, _WORKER["variants"], _WORKER["settings"], q)  # type: ignore[arg-type]


def _concat(frames: list[pd.DataFrame], columns: list[str] | None = None) -> pd.DataFrame:
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=columns)


def _per_run(
    runs: list[RunData], variants: list[Variant] | None, settings: JudgeSettings | None, workers: int
) -> list[RunTables]:
    bar = {"total": len(runs), "desc": "analysing runs", "unit": "run", "disable": len(runs) < 10}
    if workers < 2 or len(runs) < POOL_FROM:
        with SampleQuery() as q:
            return [run_tables(r, variants, settings, q) for r in tqdm(runs, leave=False, **bar)]
    limit = f"{max(256, _megabytes(MEMORY_LIMIT) // workers)}MB"
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # a kernel's threads do not survive a fork
        initializer=_start_worker,
        initargs=(limit, variants, settings),
    )
    with pool:
        return list(tqdm(pool.map(_in_worker, [r.run_dir for r in runs]), leave=False, **bar))


def _megabytes(limit: str) -> int:
    number, unit = limit[:-2], limit[-2:].upper()
    return int(float(number) * (1024 if unit == "GB" else 1))


def analyse_runs(
    runs: list[RunData],
    variants: list[Variant] | None = None,
    settings: JudgeSettings | None = None,
    workers: int | None = None,
) -> Analysis:
    """The analysis of ``runs``: scorecards, traffic, judge, what-if, incidents and sign-off
    lateness; ``workers`` processes (default: one per core) analyse the runs' samples."""
    done = _per_run(runs, variants, settings, max(1, workers or os.cpu_count() or 1))
    return Analysis(
        runs=runs,
        scorecards=scorecard_table(runs),
        traffic=_concat([t.traffic for t in done], TRAFFIC),
        verdicts=pd.DataFrame([t.verdict for t in done]),
        judged=_concat([t.judged for t in done]),
        what_if=_concat([t.what_if for t in done]),
        incidents=incident_table(runs),
        signoffs=signoff_lateness(runs),
    )
