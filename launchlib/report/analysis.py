"""Post-launch analysis across runs: scorecards side by side, the judge, what-if, incidents, sign-offs.

What ``notebooks/analysis.ipynb`` shows, as tables (pandas) and charts (plotly) computed here:

* the scorecards of the runs side by side and the trend of time to detect, decide, roll back
  and recover across them;
* traffic per run, release side and class (:mod:`launchlib.report.traffic`, one DuckDB query);
* baseline versus candidate per endpoint class (:mod:`launchlib.evaluation.judge`);
* what-if: the run's samples replayed under a grid of trigger variants
  (:mod:`launchlib.evaluation.whatif`);
* each incident classified by the plan's incident classes, with its response times
  (detected → acknowledged → decided → resolved), and how long each role took to sign off.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from launchlib.errors import RunError
from launchlib.evaluation.judge import VERDICT_ORDER, JudgeSettings, MetricVerdict, overall, plan_settings
from launchlib.evaluation.judge_sql import ValueCounts, counts_of, judge_columns, judge_counts, value_counts
from launchlib.evaluation.metrics import RowArrays
from launchlib.evaluation.sources import engine_columns, engine_rows, run_rows
from launchlib.evaluation.whatif import Variant, what_if
from launchlib.plan.model import IncidentClass, Plan, Tier
from launchlib.report.run_data import RunData, load_run
from launchlib.runfolder.events import Event, first_event
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import MANIFEST, Manifest
from launchlib.runfolder.sample_query import SampleQuery

__all__ = [
    "RunSamples",
    "classify_incident",
    "incident_table",
    "judge_table",
    "resolve_runs",
    "run_counts",
    "run_samples",
    "scorecard_table",
    "signoff_lateness",
    "times_figure",
    "what_if_table",
]

STEPS = (
    ("time_to_detect_s", "detect"),
    ("time_to_decide_s", "decide"),
    ("time_to_rollback_s", "roll back"),
    ("time_to_recover_s", "recover"),
)
_TIER_CLASS = {Tier.IMMEDIATE: "critical", Tier.FAST: "high", Tier.CONTROLLED: "medium"}


def resolve_runs(specs: list[str] | str, reports: Path | str = "reports") -> list[RunData]:
    """Run folders from paths, run ids under ``reports`` or globs, oldest first (each read once)."""
    items = specs.replace(",", " ").split() if isinstance(specs, str) else list(specs)
    folders: list[Path] = []
    for spec in items:
        matches = sorted(glob.glob(spec)) or sorted(glob.glob(str(Path(reports) / spec)))
        if not matches:
            raise RunError(f"{spec}: no run folder matches (a path, a run id under {reports}, or a glob)")
        folders += [Path(m).resolve() for m in matches if RunFolder(m).manifest_file.exists()]
    if not folders:
        raise RunError(f"{' '.join(items)}: no run folder with a {MANIFEST} among them")
    runs = [load_run(f, with_results=False) for f in dict.fromkeys(folders)]
    return sorted(runs, key=lambda r: r.manifest.started)


def scorecard_table(runs: list[RunData]) -> pd.DataFrame:
    """One row per run: outcome, scenario, tier, causes and the scorecard's times (launch s)."""
    rows = []
    for r in runs:
        m, c = r.manifest, r.manifest.scorecard
        row: dict[str, object] = {"run": m.run_id, "scenario": m.scenario, "outcome": m.outcome}
        row["tier"] = None if c is None or c.tier is None else str(c.tier)
        row["causes"] = "" if c is None else ", ".join(c.triggers)
        for key, label in STEPS:
            row[f"time to {label} (s)"] = None if c is None else getattr(c, key)
        row["deadline (s)"] = None if c is None else c.deadline_s
        row["as expected"] = None if c is None else c.as_expected
        rows.append(row)
    return pd.DataFrame(rows)


def times_figure(manifests: list[Manifest]) -> go.Figure:
    """Time to detect, decide, roll back and recover across the runs that rolled back, oldest first."""
    scored = sorted((m for m in manifests if m.scorecard and m.scorecard.rollback), key=lambda m: m.started)
    fig = go.Figure()
    for key, label in STEPS:
        fig.add_scatter(
            x=[m.run_id for m in scored],
            y=[getattr(m.scorecard, key) for m in scored],
            name=f"time to {label}",
            mode="lines+markers",
        )
    deadlines = {m.scorecard.deadline_s for m in scored if m.scorecard}
    for d in sorted(x for x in deadlines if x is not None):
        fig.add_hline(y=d, line_dash="dash", line_color="#c62828", annotation_text=f"tier deadline {d:g} s")
    fig.update_layout(
        title={
            "text": f"Response across {len(scored)} rollback runs (launch s from the fault's onset)",
            "x": 0.01,
        },
        yaxis_title="launch s",
        template="plotly_white",
        height=420,
        # the legend beside the chart: below it, it covered the ends of the runs' rotated names
        xaxis={"type": "category", "automargin": True},
    )
    return fig


def judge_intervals_of(run: RunData) -> list[tuple[float, float | None, str]]:
    """The candidate intervals the judge looks at, (start, end, what): deploy → decision (or the
    end), and when a decision ended the watch, the window its triggers saw and the time they held."""
    origin, d = run.origin, run.decision
    if origin is None:
        return []
    until = d.recorded_at if d else None
    out = [(origin, until, "deploy → decision" if d else "since the deploy")]
    if d is not None and d.triggers:
        out += [
            (start, until, where)
            for start, where in (
                (min(t.evidence.window_start for t in d.triggers), "the decision's window"),
                (min(t.evidence.first_true for t in d.triggers), "while its triggers held"),
            )
            if start > origin
        ]
    return out


def _restart_at(run: RunData) -> float | None:
    """When the deploy's restart began (``deploy_started``): its answers, up to T-0, are neither
    release at work, so no baseline counts them (the judge's, the triggers')."""
    began = first_event(run.events, Event.DEPLOY_STARTED)
    return None if began is None else began.at


def _baseline_end(run: RunData, origin: float) -> float:
    """The baseline is the previous release before the switch began (:func:`_restart_at`)."""
    began = _restart_at(run)
    return min(began, origin) if began is not None else origin


def run_counts(run: RunData, q: SampleQuery) -> ValueCounts | None:
    """The run's samples reduced for the judge and the traffic table (one DuckDB read)."""
    if run.origin is None:
        return None
    intervals = [(a, b) for a, b, _ in judge_intervals_of(run)]
    return value_counts(q, run.run_dir, run.plan, _baseline_end(run, run.origin), intervals)


@dataclass(frozen=True)
class RunSamples:
    """A run's samples up to its decision, read once: the judge's counts and the what-if's rows."""

    counts: ValueCounts
    rows: RowArrays


def run_samples(run: RunData, q: SampleQuery) -> RunSamples | None:
    """One DuckDB read of the run's parts up to its decision (or its end), the range and seven
    columns pushed into the scan: the judge's counts over the baseline and the intervals of
    :func:`judge_intervals_of`, and the trigger engine's rows for the what-if (both need the
    same samples: the intervals end at the decision, and so does the what-if)."""
    if run.origin is None:
        return None
    d = run.decision
    engine, index = engine_columns(q, run.run_dir, run.plan)
    judged, names = judge_columns(run.plan)
    got = q.arrays(run.run_dir, engine | judged, end=d.recorded_at if d else None, classes=index)
    intervals = [(a, b) for a, b, _ in judge_intervals_of(run)]
    return RunSamples(counts_of(got, names, _baseline_end(run, run.origin), intervals), engine_rows(got))


def judge_table(
    run: RunData,
    settings: JudgeSettings | None = None,
    q: SampleQuery | None = None,
    counts: ValueCounts | None = None,
) -> tuple[pd.DataFrame, str, float]:
    """Baseline versus candidate for one run: a row per class and metric, the verdict and score.

    ``settings`` give the statistics (significance, what a large effect is, minimum samples);
    the bar for a slowdown is always the plan's own (:func:`plan_settings`: its degradation
    trigger's ratio and minimum change), so the judge and the triggers agree on what is slower.

    When a decision ended the watch, the candidate is also judged over the window the decision's
    triggers saw and over the time they held, each with the baseline; each class and metric keeps
    the worse (its ``interval`` says which). A fault that filled only the end of the interval (a
    spike two minutes in, decided a minute later) is otherwise diluted by the healthy minutes
    before it. One DuckDB read of the run serves the three (:func:`run_counts`)."""
    intervals = judge_intervals_of(run)
    if not intervals:
        return pd.DataFrame(), "no data", 0.0
    bar = plan_settings(run.plan)
    s = replace(settings or bar, min_change_ms=bar.min_change_ms, min_change_ratio=bar.min_change_ratio)
    if counts is None:
        with _query(q) as sq:
            counts = run_counts(run, sq)
    assert counts is not None  # the run has a deploy (it has intervals)
    chosen: dict[tuple[str, str], tuple[MetricVerdict, str]] = {}
    for verdicts, (_, _, where) in zip(judge_counts(counts, s), intervals, strict=True):
        for v in verdicts:
            key = (v.cls, v.metric)
            if key not in chosen or VERDICT_ORDER[v.verdict] > VERDICT_ORDER[chosen[key][0].verdict]:
                chosen[key] = (v, where)
    worst, score = overall([v for v, _ in chosen.values()])
    frame = pd.DataFrame([v.as_row() | {"interval": where} for v, where in chosen.values()])
    return frame, worst, score


@contextmanager
def _query(q: SampleQuery | None) -> Iterator[SampleQuery]:
    """``q``, or a connection of its own closed afterwards."""
    if q is not None:
        yield q
        return
    with SampleQuery() as own:
        yield own


def what_if_table(
    run: RunData,
    variants: list[Variant] | None = None,
    q: SampleQuery | None = None,
    rows: RowArrays | None = None,
) -> pd.DataFrame:
    """The run's samples replayed under each variant; launch seconds from T-0. The samples up
    to the decision are read by DuckDB as the engine's arrays (no table of the whole run), or
    given as ``rows`` (:func:`run_samples`)."""
    origin = run.origin
    if origin is None:
        return pd.DataFrame()
    d = run.decision
    end = d.recorded_at if d else None  # what happened after the decision is the rollback's, not the fault's
    if rows is None:
        with _query(q) as sq:
            rows = run_rows(sq, run.run_dir, run.plan, end=end)
    if not len(rows.ts):
        return pd.DataFrame()
    return what_if(
        run.plan,
        rows,
        origin,
        compress=run.manifest.compress,
        variants=variants,
        until=end,
        actual_decided_at=d.decided_at if d else None,
        restart_at=_restart_at(run),
    )


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z]+", text.lower()) if len(w) > 3}


def classify_incident(plan: Plan, trigger_id: str, tier: Tier | None) -> tuple[IncidentClass | None, str]:
    """The plan's incident class and type for a cause: by the words they share, else by its tier."""
    best, best_type, best_score = None, "", 0
    for cls in plan.incidents.classes:
        for inc in cls.incidents:
            score = len(_words(trigger_id) & (_words(inc.name) | _words(inc.description)))
            if score > best_score:
                best, best_type, best_score = cls, inc.name, score
    if best is None and tier is not None:
        best = next((c for c in plan.incidents.classes if c.id == _TIER_CLASS.get(tier)), None)
        best_type = "unclassified"
    return best, best_type


def incident_table(runs: list[RunData]) -> pd.DataFrame:
    """Per run with a decision: incident class and type, and detected → acknowledged → decided → resolved."""
    rows = []
    for r in runs:
        d = r.decision
        if d is None:
            continue
        cause = d.triggers[0].id if d.triggers else ""
        cls, kind = classify_incident(r.plan, cause, d.tier)
        detected = min((r.launch_s(f.first_at) for f in r.firings if f.id in d.causes), default=None)
        acked = next((r.launch_s(n.at) for n in r.notifications if n.kind == "rollback"), None)
        decided = r.launch_s(d.recorded_at)
        resolved = r.event_at(Event.POST_CHECKS_GREEN)
        rows.append(
            {
                "run": r.manifest.run_id,
                "cause": cause,
                "class": cls.title if cls else "unclassified",
                "incident": kind,
                "response": cls.response if cls else "",
                "detected": detected,
                "acknowledged": acked,
                "decided": decided,
                "resolved": resolved,
                "detect → acknowledge (s)": None
                if detected is None or acked is None
                else round(acked - detected, 1),
                "detect → resolve (s)": None
                if detected is None or resolved is None
                else round(resolved - detected, 1),
            }
        )
    return pd.DataFrame(rows)


def signoff_lateness(runs: list[RunData]) -> pd.DataFrame:
    """Per role: sign-offs made, median and longest wait after the phase opened, and how many came
    after the phase had ended (late). Launch seconds."""
    rows = []
    for r in runs:
        spans = {phase: (start, end) for phase, start, end, _ in r.phase_spans()}
        for e in r.signoffs:
            if str(e.source) != "person" or e.phase not in spans:
                continue
            at = r.launch_s(datetime.fromisoformat(e.ts).timestamp())
            start, end = spans[e.phase]
            rows.append({"role": e.role, "wait_s": max(0.0, at - start), "late": at > end})
    if not rows:
        return pd.DataFrame(columns=["role", "sign-offs", "median wait (s)", "longest wait (s)", "late"])
    df = pd.DataFrame(rows)
    g = df.groupby("role")
    return pd.DataFrame(
        {
            "sign-offs": g.size(),
            "median wait (s)": g["wait_s"].median().round(1),
            "longest wait (s)": g["wait_s"].max().round(1),
            "late": g["late"].sum().astype(int),
        }
    ).reset_index()
