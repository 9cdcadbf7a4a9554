"""Traffic across runs: requests, failures and latency per run, release side and endpoint class.

From the counts each run's samples are reduced to for the judge (:func:`run_samples`: per class,
metric and distinct value, baseline and candidate), so the table costs no second read of the
run. The baseline is what the previous release served before the deploy began (the restart's
answers are neither release's); the candidate, what came after it up to the rollback decision
(or the end of the run). Quantiles are nearest-rank over every answered sample: exact, as the
triggers' are over their histograms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from launchlib.evaluation.judge_sql import ValueCounts
from launchlib.report.run_data import RunData

__all__ = ["COLUMNS", "run_traffic", "traffic_figure"]

COLUMNS = ["run", "side", "class", "requests", "failed_pct", "p50_ms", "p95_ms", "p99_ms"]
QUANTILES = (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))


def _quantile(v: np.ndarray, w: np.ndarray, q: float) -> float | None:
    """Nearest-rank ``q``-quantile of the sample holding each ``v[j]`` ``w[j]`` times."""
    cum = np.cumsum(w)
    if not len(cum) or cum[-1] == 0:
        return None
    return round(float(v[np.searchsorted(cum, max(np.ceil(q * cum[-1]), 1))]), 1)


def run_traffic(run: RunData, counts: ValueCounts) -> pd.DataFrame:
    """One run's rows of the table, from its judge counts (interval 0: deploy → decision)."""
    rows = []
    for cls in counts.classes():
        fail, lat = counts.of(cls, "failure"), counts.of(cls, "latency_ms")
        for side in ("baseline", "candidate"):
            row: dict[str, object] = {"run": run.manifest.run_id, "side": side, "class": cls}
            if fail is not None:
                w = fail[1] if side == "baseline" else fail[2][0]
                row["requests"] = int(w.sum())
                row["failed_pct"] = round(100.0 * float((fail[0] * w).sum()) / max(int(w.sum()), 1), 2)
            if lat is not None:
                w = lat[1] if side == "baseline" else lat[2][0]
                row |= {name: _quantile(lat[0], w, q) for name, q in QUANTILES}
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def traffic_figure(table: pd.DataFrame, metric: str = "p95_ms") -> go.Figure:
    """``metric`` per run, a colour per class: the candidate solid, its baseline dotted, so a
    release that moved a class stands out as a gap between the two lines of one colour."""
    fig = go.Figure()
    palette = px.colors.qualitative.Plotly
    for i, (cls, part) in enumerate(table.groupby("class", sort=True)):
        colour = palette[i % len(palette)]
        for side in ("candidate", "baseline"):
            rows = part[part["side"] == side]
            fig.add_trace(
                go.Scatter(
                    x=rows["run"],
                    y=rows[metric],
                    mode="lines+markers",
                    name=f"{cls} · {side}",
                    legendgroup=cls,
                    line={"color": colour, "dash": "dot" if side == "baseline" else "solid"},
                    marker={"symbol": "circle-open" if side == "baseline" else "circle"},
                )
            )
    fig.update_layout(
        title=f"{metric.replace('_', ' ')} per run and class: candidate (solid), baseline (dotted)",
        xaxis_title="run",
        yaxis_title=metric.replace("_", " "),
        height=440,
        xaxis={"type": "category", "automargin": True},  # the legend beside it, clear of the names
    )
    return fig
