"""Plotly charts of a run, and how they are shown so they survive papermill and nbconvert.

:func:`show` displays a figure as a bundle: the plotly MIME type (JupyterLab renders it) and
an HTML ``div`` without plotly.js (nbconvert's HTML keeps it; the run folder's one copy of
plotly.js, linked by :mod:`launchlib.report.html`, draws it). No CDN, nothing per figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric
from launchlib.runfolder.events import TimelineEvent, read_run_samples
from launchlib.runfolder.records import FiringRecord, Line
from launchlib.runfolder.result import PhaseResult

__all__ = ["checklist_chart", "latency_chart", "monitor_chart", "show", "timeline_chart", "windowed"]

_COLORS = {
    "passed": "#2e7d32",
    "done": "#2e7d32",
    "waived": "#f9a825",
    "failed": "#c62828",
    "blocked": "#c62828",
    "open": "#9e9e9e",
}


def show(fig: go.Figure) -> None:
    """Display ``fig`` for JupyterLab and for the HTML report alike."""
    from IPython.display import display  # there in a kernel; the library imports without IPython

    bundle = {
        "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
        "text/html": fig.to_html(full_html=False, include_plotlyjs=False),
    }
    display(bundle, raw=True)


def windowed(plan: Plan, samples: pd.DataFrame, step_s: float, window_s: float) -> pd.DataFrame:
    """p95 latency and failure ratio of API classes per step over a trailing window."""
    if samples.empty:
        return pd.DataFrame({"t": [], "p95_ms": [], "failure_ratio": []})
    cls = samples["endpoint"].astype(str).map(plan.monitoring.endpoint_classes)
    api = samples[cls.isin(["api", "trading", "risk"])]
    t0, t1 = float(samples["ts"].min()), float(samples["ts"].max())
    rows = []
    ts, lat = api["ts"].to_numpy(), api["latency_ms"].to_numpy()
    bad = ((api["status"] == 0) | (api["status"] >= 500)).to_numpy()
    for t in np.arange(t0 + step_s, t1 + step_s, step_s):
        m = (ts > t - window_s) & (ts <= t)
        ok = m & ~np.isnan(lat)
        rows.append(
            (
                t,
                float(np.percentile(lat[ok], 95)) if ok.sum() >= 5 else None,
                float(bad[m].mean()) if m.any() else None,
            )
        )
    out = pd.DataFrame(rows, columns=["t", "p95_ms", "failure_ratio"])
    out["time"] = pd.to_datetime(out["t"], unit="s", utc=True)
    return out


def latency_chart(
    plan: Plan,
    samples: pd.DataFrame,
    decisions: list[Line],
    compress: float,
    title: str,
) -> go.Figure:
    """API p95 latency and failure ratio over time, with trigger thresholds and firings."""
    mon = plan.monitoring
    w = windowed(plan, samples, mon.interval_s / compress, mon.window_s / compress)
    fig = go.Figure()
    fig.add_scatter(x=w.get("time"), y=w.get("p95_ms"), name="API p95 (ms)", mode="lines")
    fig.add_scatter(x=w.get("time"), y=w.get("failure_ratio"), name="failure ratio", mode="lines", yaxis="y2")
    for tier, trig in plan.triggers():
        c = trig.condition
        if c.metric is ConditionMetric.LATENCY_P95_MS and c.threshold is not None:
            fig.add_hline(
                y=c.threshold, line_dash="dot", annotation_text=f"{trig.id} ({tier.id}) {c.threshold:g} ms"
            )
    for f in (d for d in decisions if isinstance(d, FiringRecord)):
        fig.add_vline(
            x=pd.to_datetime(f.first_at, unit="s", utc=True).timestamp() * 1000, line_color="#c62828"
        )
        fig.add_annotation(
            x=pd.to_datetime(f.first_at, unit="s", utc=True),
            y=1,
            yref="paper",
            text=f"{f.id} ({f.tier})",
            showarrow=False,
            textangle=-90,
            xanchor="right",
        )
    fig.update_layout(
        title=title,
        height=360,
        margin={"t": 50, "b": 40},
        yaxis={"title": "ms", "rangemode": "tozero"},
        yaxis2={"title": "failure ratio", "overlaying": "y", "side": "right", "range": [0, 1]},
    )
    return fig


class RunView(Protocol):
    """What a chart needs of a phase: its plan, its run folder and the launch clock's compression
    (a :class:`~launchlib.launch.context.PhaseContext` is one)."""

    plan: Plan
    run_dir: Path
    compress: float


def monitor_chart(ctx: RunView, result: PhaseResult, title: str) -> go.Figure:
    """:func:`latency_chart` of everything the run's monitor recorded so far."""
    return latency_chart(ctx.plan, read_run_samples(ctx.run_dir), result.decisions, ctx.compress, title)


def checklist_chart(result: PhaseResult) -> go.Figure:
    """Items of a phase by owner, coloured by state: what is green, what is open."""
    owners = [i.owner or "any role" for i in result.items]
    fig = go.Figure()
    for state in dict.fromkeys(i.state for i in result.items):
        its = [i for i in result.items if i.state == state]
        fig.add_bar(
            y=[i.text for i in its],
            x=[1] * len(its),
            orientation="h",
            name=state,
            marker_color=_COLORS.get(state, "#607d8b"),
            hovertext=[f"{i.owner or 'any role'}: {i.note}" for i in its],
        )
    fig.update_layout(
        title=f"{result.phase}: {result.status.value} ({len(set(owners))} owners)",
        barmode="stack",
        height=120 + 28 * len(result.items),
        xaxis={"visible": False},
        margin={"l": 260},
    )
    return fig


def timeline_chart(events: list[TimelineEvent], results: dict[str, PhaseResult]) -> go.Figure:
    """The run as a Gantt of phases with its events (deploy, firings, rollback) marked."""
    fig = go.Figure()
    for pid, r in results.items():
        fig.add_bar(
            y=[pid],
            x=[max(r.duration_s, 0.05) * 1000],
            base=[pd.Timestamp(r.started, unit="s", tz="UTC")],
            orientation="h",
            marker_color=_COLORS.get(r.status.value, "#607d8b"),
            name=r.status.value,
            showlegend=False,
            hovertext=r.reason or r.status.value,
        )
    for e in events:
        fig.add_vline(x=pd.Timestamp(e.at, unit="s", tz="UTC").timestamp() * 1000, line_dash="dot")
        fig.add_annotation(
            x=pd.Timestamp(e.at, unit="s", tz="UTC"),
            y=1,
            yref="paper",
            text=str(e.event),
            showarrow=False,
            textangle=-90,
            xanchor="right",
        )
    fig.update_layout(
        title="Run timeline",
        xaxis={"type": "date"},
        height=160 + 26 * len(results),
        yaxis={"autorange": "reversed"},
    )
    return fig
