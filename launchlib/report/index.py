"""``reports/index.html``: every run with scenario, outcome and scorecard, newest first, and the trend.

A half-written or corrupt run folder is listed as incomplete with what is wrong, never a
crash; a run whose runner died is marked interrupted on the way. The trend chart shows time
to detect, decide and recover across the scored rehearsals; it draws with the one
``plotly.min.js`` next to the index, so the page opens offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from launchlib.errors import RunError
from launchlib.report.analysis import times_figure
from launchlib.report.fidelity import latest_fidelity
from launchlib.report.html import PLOTLY_JS
from launchlib.report.repair import repair_run
from launchlib.report.scorecard import verdict
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import MANIFEST, Manifest, Outcome, read_manifest

__all__ = ["IndexRow", "index_rows", "write_index"]

INDEX = "index.html"
STEPS = (("time_to_detect_s", "detect"), ("time_to_decide_s", "decide"), ("time_to_recover_s", "recover"))


@dataclass(frozen=True)
class IndexRow:
    """One run folder as the index lists it: its manifest, or why it is incomplete."""

    folder: Path
    manifest: Manifest | None
    problem: str = ""

    @property
    def started(self) -> float:
        return self.manifest.started if self.manifest else 0.0


def index_rows(reports: Path | str) -> list[IndexRow]:
    """Every run folder under ``reports``, newest first; stale runs are repaired on the way."""
    reports = Path(reports)
    out = []
    for folder in sorted(p for p in (reports.iterdir() if reports.exists() else []) if p.is_dir()):
        if not RunFolder(folder).manifest_file.exists():
            if any(folder.iterdir()):  # an empty folder is not a run; one with files but no manifest is
                out.append(IndexRow(folder, None, f"incomplete: no {MANIFEST}"))
            continue
        try:
            repair_run(folder)
            out.append(IndexRow(folder, read_manifest(folder)))
        except RunError as exc:
            out.append(IndexRow(folder, None, f"incomplete: {exc}"))
    return sorted(out, key=lambda r: -r.started)


def _row(r: IndexRow) -> str:
    e = html.escape
    m = r.manifest
    if m is None:
        return f"<tr><td>{e(r.folder.name)}</td><td colspan=8 class='bad'>{e(r.problem)}</td></tr>"
    sc = m.scorecard
    times = ["" if sc is None or getattr(sc, k) is None else f"{getattr(sc, k):g}" for k, _ in STEPS]
    expected = verdict(sc) if sc else ("running" if m.kind is Outcome.RUNNING else "no scorecard")
    report = RunFolder(r.folder).report_file
    link = f"{m.run_id}/{report.name}" if report.exists() else f"{r.folder.name}/{MANIFEST}"
    good = "good" if sc is not None and sc.as_expected else ("bad" if sc is not None else "")
    started = datetime.fromtimestamp(m.started, UTC).strftime("%Y-%m-%d %H:%M")
    cells = [m.scenario or "launch", m.outcome, (sc.tier if sc else None) or "-", *times]
    return (
        f"<tr><td><a href='{e(link)}'>{e(m.run_id)}</a></td><td>{e(started)}</td>"
        + "".join(f"<td>{e(str(c))}</td>" for c in cells)
        + f"<td class='{good}'>{e(expected)}</td></tr>"
    )


def _matrix_link(reports: Path) -> str:
    page = latest_fidelity(reports)
    if page is None:
        return ""
    link = f"<a href='{html.escape(page.name)}'>{html.escape(page.stem)}</a>"
    return f" The plan's test matrix (<code>rehearse --all</code>): {link}."


def write_index(reports: Path | str) -> Path:
    """Write ``reports/index.html`` (and the folder's one ``plotly.min.js`` if missing)."""
    reports = Path(reports)
    rows = index_rows(reports)
    js = reports / PLOTLY_JS
    if not js.exists():
        from plotly.offline import get_plotlyjs  # heavy: 4.8 MB of JavaScript, once per reports folder

        js.write_text(get_plotlyjs(), encoding="utf-8")
    chart = times_figure([r.manifest for r in rows if r.manifest]).to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False}
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("run", "started (UTC)", "scenario", "outcome", "tier", "detect s", "decide s", "recover s")
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>launchlib runs</title>"
        f"<script src='{PLOTLY_JS}'></script><style>body{{font-family:system-ui,sans-serif;margin:1em 2em}}"
        "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}.good{color:#2e7d32}"
        ".bad{color:#c62828}</style></head><body><h1>launchlib runs</h1>"
        f"<p>{len(rows)} runs; times are launch seconds from the fault's onset."
        f"{_matrix_link(reports)}</p>{chart}"
        f"<table><tr>{head}<th>expectation</th></tr>{''.join(_row(r) for r in rows)}</table></body></html>"
    )
    out = reports / INDEX
    tmp = out.with_name(f".{INDEX}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
