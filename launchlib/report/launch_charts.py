"""Charts of a run on the launch clock (x axis T-1m … T+1h read as T+mm:ss).

Latency (p50/p95/p99 per endpoint class) and failure ratio are computed over the plan's
trailing window at every evaluation interval, as the triggers see them, with the triggers'
thresholds and the success criteria drawn. Every chart marks the phases and the run's moments
(:meth:`RunData.markers`): deploy, fault onset, each firing, decision, rollback, recovered.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric as CM
from launchlib.report.markers import group_markers, marker_text
from launchlib.report.run_data import Marker, RunData
from launchlib.runfolder.clock import clock
from launchlib.runfolder.events import Event

__all__ = [
    "class_series",
    "clock_ticks",
    "failure_figure",
    "latency_figure",
    "phase_timeline_figure",
    "signoff_figure",
]

MARKER_COLORS = {
    "deploy": "#1565c0",
    "onset": "#6a1b9a",
    "firing": "#ef6c00",
    "decision": "#c62828",
    "rollback": "#ad1457",
    "recovered": "#2e7d32",
}
STATE_COLORS = {"done": "#2e7d32", "waived": "#f9a825", "blocked": "#c62828", "open": "#9e9e9e"}
STATUS_COLORS = {
    "passed": "#2e7d32",
    "rolled_back": "#2e7d32",
    "failed": "#c62828",
    "interrupted": "#c62828",
    "skipped": "#9e9e9e",
}
QUANTILES = (50, 95, 99)
MIN_SAMPLES = 5  # fewer answered samples in a window draw no quantile (a gap, not a guess)
FONT = {"family": "system-ui, sans-serif", "size": 13}


def clock_ticks(x0: float, x1: float, target: int = 10) -> tuple[list[float], list[str]]:
    """Tick positions at a round launch-clock step and their ``T+mm:ss`` labels."""
    span = max(x1 - x0, 1.0)
    step = next((s for s in (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if span / s <= target), 7200)
    ticks = list(np.arange(np.ceil(x0 / step) * step, x1 + 1e-9, step))
    return ticks, [clock(t) for t in ticks]


def _latency_classes(plan: Plan) -> list[str]:
    latency = (CM.LATENCY_P95_MS, CM.LATENCY_P95_DEGRADATION)
    found = {c for _, t in plan.triggers() if t.condition.metric in latency for c in t.condition.classes}
    return sorted(found) or ["api"]


def _failure_classes(plan: Plan) -> list[str]:
    ratio = (CM.FAILURE_RATIO, CM.SUCCESS_RATIO)
    found = {c for _, t in plan.triggers() if t.condition.metric in ratio for c in t.condition.classes}
    return sorted(found) or ["api"]


def class_series(run: RunData, classes: list[str] | None = None) -> pd.DataFrame:
    """Per endpoint class and evaluation step: p50/p95/p99 latency, failure ratio, sample count.

    Columns ``launch_s, cls, p50, p95, p99, failure_ratio, n``; windows of the plan's
    ``window_s`` every ``interval_s`` launch seconds, as the trigger engine evaluates them.
    """
    mon = run.plan.monitoring
    cols = ["launch_s", "cls", "p50", "p95", "p99", "failure_ratio", "n"]
    df = run.samples
    if df.empty:
        return pd.DataFrame(columns=cols)
    ls = (df["ts"].to_numpy(float) - (run.origin or run.manifest.started)) * run.manifest.compress
    cls = df["endpoint"].astype(str).map(mon.endpoint_classes).to_numpy()
    lat = pd.to_numeric(df["latency_ms"], errors="coerce").to_numpy(float)
    status = pd.to_numeric(df["status"], errors="coerce").fillna(0).to_numpy(float)
    steps = np.arange(
        np.floor(ls.min() / mon.interval_s) * mon.interval_s, ls.max() + mon.interval_s, mon.interval_s
    )
    rows = []
    for c in classes or sorted(set(mon.endpoint_classes.values())):
        m = cls == c
        if not m.any():
            continue
        order = np.argsort(ls[m], kind="stable")
        t, la, st = ls[m][order], lat[m][order], status[m][order]
        lo = np.searchsorted(t, steps - mon.window_s, side="right")
        hi = np.searchsorted(t, steps, side="right")
        for k, step in enumerate(steps):
            a, b = lo[k], hi[k]
            if b <= a:
                continue
            window_lat, window_st = la[a:b], st[a:b]
            answered = window_lat[(window_st > 0) & ~np.isnan(window_lat)]
            q = np.percentile(answered, QUANTILES) if answered.size >= MIN_SAMPLES else [np.nan] * 3
            failed = float(((window_st == 0) | (window_st >= 500)).mean())
            rows.append((float(step), c, *map(float, q), failed, int(b - a)))
    return pd.DataFrame(rows, columns=cols)


def _mark(
    fig: go.Figure, run: RunData, markers: list[Marker], x0: float, x1: float, *, bands: bool = True
) -> None:
    """Phase bands (named at the bottom), then a vertical line per marker, labelled at the top."""
    for i, (phase, start, end, _status) in enumerate(run.phase_spans() if bands else []):
        a, b = max(start, x0), min(end, x1)
        if b - a < (x1 - x0) / 40:  # too narrow to name: a pre-launch phase of a compressed rehearsal
            continue
        fig.add_vrect(
            x0=a, x1=b, fillcolor="#90a4ae" if i % 2 else "#cfd8dc", opacity=0.15, line_width=0, layer="below"
        )
        fig.add_annotation(
            x=(a + b) / 2,
            y=0,
            yref="paper",
            yanchor="bottom",
            text=phase,
            showarrow=False,
            font={"size": 11, "color": "#546e7a"},
        )
    shown = [m for m in markers if x0 <= m.launch_s <= x1]
    for mk in shown:  # every moment keeps its line; close ones share a label
        color = MARKER_COLORS.get(mk.kind, "#455a64")
        fig.add_vline(x=mk.launch_s, line_color=color, line_dash="dot" if mk.kind == "firing" else "solid")
    for mk in group_markers(shown, (x1 - x0) / 25):
        color = MARKER_COLORS.get(mk.kind, "#455a64")
        text, full = marker_text(mk)
        fig.add_annotation(
            x=mk.launch_s,
            y=1,
            yref="paper",
            text=text,
            hovertext=full,
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            font={"size": 11, "color": color},
        )


def _thresholds(fig: go.Figure, lines: list[tuple[float, str, str]], row: int | None = None) -> None:
    """Horizontal threshold lines; lines at the same value share one line and one label."""
    merged: dict[float, tuple[str, list[str]]] = {}
    for y, color, label in lines:
        key = round(y, 9)
        c, labels = merged.get(key, (color, []))
        merged[key] = (c if c == "#c62828" else color, [*labels, label])
    for y, (color, labels) in merged.items():
        kw = {} if row is None else {"row": row, "col": 1}
        fig.add_hline(
            y=y,
            line_color=color,
            line_dash="dash" if color == "#c62828" else "dot",
            annotation_text=" · ".join(labels),
            annotation_font={"size": 11, "color": color},
            **kw,
        )


def _x_range(run: RunData, series: pd.DataFrame) -> tuple[float, float]:
    """From a little before the deploy (the baseline) to the last sample or moment."""
    xs = [m.launch_s for m in run.markers()] + (list(series["launch_s"]) if not series.empty else [])
    if not xs:
        return -60.0, 60.0
    pad = run.plan.monitoring.interval_s
    start = max(min(xs), -2 * run.plan.monitoring.window_s)
    return start - pad, max(xs) + pad


def _layout(fig: go.Figure, title: str, x0: float, x1: float, height: int, rows: int = 1) -> None:
    ticks, labels = clock_ticks(x0, x1)
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        font=FONT,
        margin={"l": 70, "r": 30, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.08 if rows > 1 else -0.2},
        hovermode="x unified",
        template="plotly_white",
    )
    fig.update_xaxes(range=[x0, x1], tickvals=ticks, ticktext=labels)
    if rows > 1:  # the shared axis is titled once, under the last subplot
        fig.update_xaxes(title_text="launch clock", row=rows, col=1)
    else:
        fig.update_xaxes(title_text="launch clock")


QUANTILE_STYLE = {50: ("#90caf9", "dot"), 95: ("#1565c0", "solid"), 99: ("#6a1b9a", "dash")}


def latency_figure(run: RunData, series: pd.DataFrame | None = None) -> go.Figure:
    """p50/p95/p99 latency per endpoint class, with the p95 triggers and the success criterion."""
    classes = _latency_classes(run.plan)
    s = class_series(run, classes) if series is None else series
    fig = make_subplots(
        rows=len(classes),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[f"{c}: client-measured latency" for c in classes],
    )
    success = [
        c.threshold
        for c in run.plan.success.launch_criteria
        if c.threshold and c.threshold.metric == "p95_latency_ms"
    ]
    baseline = _baseline_p95(run, s)
    for row, c in enumerate(classes, 1):
        part = s[s["cls"] == c]
        for q in QUANTILES:
            color, dash = QUANTILE_STYLE[q]
            fig.add_scatter(
                x=part["launch_s"],
                y=part[f"p{q}"],
                name=f"p{q}",
                mode="lines",
                line={"dash": dash, "color": color},
                legendgroup=f"p{q}",
                showlegend=row == 1,
                row=row,
                col=1,
                hovertemplate=f"{c} p{q} %{{y:.0f}} ms<extra></extra>",
            )
        lines = []
        for tier, trig in run.plan.triggers():
            cond = trig.condition
            if c not in cond.classes or cond.threshold is None:
                continue
            if cond.metric is CM.LATENCY_P95_MS:
                lines.append(
                    (cond.threshold, "#c62828", f"{trig.id} ({tier.id}) p95 > {cond.threshold:g} ms")
                )
            elif cond.metric is CM.LATENCY_P95_DEGRADATION and baseline.get(c):
                y = baseline[c] * (1 + cond.threshold)
                label = f"{trig.id} ({tier.id}) p95 > {1 + cond.threshold:g} × baseline {baseline[c]:.0f} ms"
                lines.append((y, "#c62828", label))
        lines += [(th.value, "#2e7d32", f"success: p95 {th.op.value} {th.value:g} ms") for th in success]
        _thresholds(fig, lines, row)
        fig.update_yaxes(title_text="ms", rangemode="tozero", row=row, col=1)
    x0, x1 = _x_range(run, s)
    _mark(fig, run, run.markers(), x0, x1)
    title = "Latency by endpoint class: p50 · p95 · p99 over the trigger window"
    _layout(fig, title, x0, x1, 250 * len(classes) + 130, rows=len(classes))
    return fig


def _baseline_p95(run: RunData, s: pd.DataFrame) -> dict[str, float]:
    """Each class's p95 before the deploy: what a degradation trigger compares with."""
    before = s[(s["launch_s"] <= 0) & s["p95"].notna()]
    return {c: float(g["p95"].iloc[-1]) for c, g in before.groupby("cls")}


def failure_figure(run: RunData, series: pd.DataFrame | None = None) -> go.Figure:
    """Failure ratio per endpoint class, with the ratio triggers and the error-rate criterion."""
    classes = _failure_classes(run.plan)
    s = class_series(run, classes) if series is None else series
    fig = go.Figure()
    for c in classes:
        part = s[s["cls"] == c]
        fig.add_scatter(
            x=part["launch_s"],
            y=part["failure_ratio"],
            name=c,
            mode="lines",
            hovertemplate=f"{c} %{{y:.1%}} failed<extra></extra>",
        )
    lines = [
        (
            t.condition.threshold,
            "#c62828",
            f"{t.id} ({tier.id}, {'/'.join(t.condition.classes)}) > {t.condition.threshold:.0%}",
        )
        for tier, t in run.plan.triggers()
        if t.condition.metric is CM.FAILURE_RATIO and t.condition.threshold is not None
    ]
    lines += [
        (crit.threshold.value, "#2e7d32", f"success: error rate < {crit.threshold.value:.0%}")
        for crit in run.plan.success.launch_criteria
        if crit.threshold and crit.threshold.metric == "error_rate"
    ]
    _thresholds(fig, lines)
    x0, x1 = _x_range(run, s)
    _mark(fig, run, run.markers(), x0, x1)
    started = run.event_at(Event.DEPLOY_STARTED)
    if started is not None and run.origin is not None and started < 0:  # its 503s are not the candidate's
        fig.add_vrect(
            x0=started,
            x1=0.0,
            fillcolor="#9e9e9e",
            opacity=0.25,
            line_width=0,
            annotation_text="deploy restart",
            annotation_position="top left",
        )
    _layout(fig, "Failure ratio by endpoint class: status 0 or ≥ 500 over the trigger window", x0, x1, 440)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title_text="failed")
    return fig


def phase_timeline_figure(run: RunData) -> go.Figure:
    """The launch phases as planned and as they ran (Gantt), with each phase's lateness."""
    plan_phases = [p for p in run.plan.phases if 0 <= p.offset_s <= 3600]
    spans = {phase: (start, end, status) for phase, start, end, status in run.phase_spans()}
    fig = go.Figure()
    rows = []
    for i, p in enumerate(plan_phases):
        nxt = plan_phases[i + 1].offset_s if i + 1 < len(plan_phases) else p.offset_s + 600
        rows.append((p.id, float(p.offset_s), float(nxt)))
    names = [r[0] for r in rows] + (["rollback"] if "rollback" in spans else [])
    fig.add_bar(
        y=[r[0] for r in rows],
        x=[r[2] - r[1] for r in rows],
        base=[r[1] for r in rows],
        orientation="h",
        name="planned",
        marker_color="#cfd8dc",
        width=0.8,
        hovertemplate="%{y} planned %{base:.0f} s<extra></extra>",
    )
    for phase in names:
        if phase not in spans:
            continue
        start, end, status = spans[phase]
        planned = next((r[1] for r in rows if r[0] == phase), None)
        deploy = phase == next((p.id for p in plan_phases if p.offset_s == 0), None)  # it starts the clock
        late = "" if planned is None or deploy else _lateness(start - planned)
        fig.add_bar(
            y=[phase],
            x=[max(end - start, 1.0)],
            base=[start],
            orientation="h",
            width=0.4,
            showlegend=False,
            marker_color=STATUS_COLORS.get(status, "#607d8b"),
            name=status,
            text=[f"{status}{late}"],
            textposition="outside",
            hovertemplate=f"{phase}: {status}{late}<extra></extra>",
        )
    xs = [r[1] for r in rows] + [v for s in spans.values() for v in s[:2]]
    x0, x1 = min([*xs, 0.0]) - 30, max([*xs, 60.0]) + 60
    _mark(
        fig,
        run,
        [m for m in run.markers() if m.kind in ("deploy", "decision", "recovered")],
        x0,
        x1,
        bands=False,
    )
    _layout(fig, "Launch phases: planned (grey) and as run", x0, x1, 140 + 40 * len(names))
    fig.update_layout(barmode="overlay", hovermode="closest")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names)
    return fig


def _lateness(delta_s: float) -> str:
    if abs(delta_s) < 5:
        return " · on time"
    return f" · {'late' if delta_s > 0 else 'early'} {abs(delta_s):.0f} s"


def signoff_figure(run: RunData) -> go.Figure:
    """Who signed what, when: each person's sign-off on the launch clock, by role and state."""
    fig = go.Figure()
    people = [e for e in run.signoffs if str(e.source) == "person"]
    for state in dict.fromkeys(str(e.state) for e in people):
        es = [e for e in people if str(e.state) == state]
        fig.add_scatter(
            x=[run.launch_s(datetime.fromisoformat(e.ts).timestamp()) for e in es],
            y=[_role(run.plan, e.role) for e in es],
            mode="markers",
            name=state,
            marker={"size": 11, "color": STATE_COLORS.get(state, "#607d8b")},
            text=[f"{e.phase}/{e.item} by {e.person}{': ' + e.comment if e.comment else ''}" for e in es],
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    xs = [run.launch_s(datetime.fromisoformat(e.ts).timestamp()) for e in people] or [0.0]
    x0, x1 = min(xs) - 30, max(xs) + 30
    _layout(
        fig, f"Sign-offs by role ({len(people)} by people)", x0, x1, 160 + 40 * len({e.role for e in people})
    )
    fig.update_layout(hovermode="closest")
    return fig


def _role(plan: Plan, role: str) -> str:
    found = plan.resolve_role(role)
    return found.title if found is not None else role
