"""``reports/index.html``: every run with scenario, outcome and scorecard, newest first.

A half-written or corrupt run folder is listed with what is wrong, never a crash; a run whose
runner died is marked interrupted on the way.
"""

from __future__ import annotations

import html
from pathlib import Path

from launchlib.errors import RunError
from launchlib.report.repair import repair_run
from launchlib.report.scorecard import verdict
from launchlib.runfolder.folder import MANIFEST, read_manifest
from launchlib.runfolder.records import Scorecard

__all__ = ["write_index"]


def write_index(reports: Path | str) -> Path:
    """``reports/index.html``: every run with scenario, outcome and scorecard, newest first.

    A run whose runner died is marked interrupted on the way (:func:`repair_run`)."""
    reports = Path(reports)
    rows = []
    for folder in sorted(reports.iterdir() if reports.exists() else [], key=lambda p: p.name):
        if not (folder / MANIFEST).exists():
            continue
        try:
            repair_run(folder)
            m = read_manifest(folder)
        except RunError as exc:
            rows.append(
                (
                    0.0,
                    f"<tr><td>{html.escape(folder.name)}</td><td colspan=5>{html.escape(str(exc))}</td></tr>",
                )
            )
            continue
        sc = m.scorecard or Scorecard()
        times = {
            "detect": sc.time_to_detect_s,
            "decide": sc.time_to_decide_s,
            "recover": sc.time_to_recover_s,
        }
        card = ", ".join(f"time to {k} {v} s" for k, v in times.items() if v is not None)
        expected = verdict(sc) if m.scorecard else "no scorecard yet"
        report = f"{m.run_id}/report.html" if (folder / "report.html").exists() else f"{m.run_id}/{MANIFEST}"
        rows.append(
            (
                m.started,
                (
                    f"<tr><td><a href='{html.escape(report)}'>{html.escape(m.run_id)}</a></td>"
                    f"<td>{html.escape(m.scenario or '-')}</td><td>{html.escape(m.outcome)}</td>"
                    f"<td>{html.escape(sc.tier or '-')}</td><td>{html.escape(card)}</td>"
                    f"<td>{html.escape(expected)}</td></tr>"
                ),
            )
        )
    body = "\n".join(r for _, r in sorted(rows, key=lambda r: -r[0]))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>launchlib runs</title><style>"
        "body{font-family:sans-serif}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
        "</style></head><body><h1>launchlib runs</h1><table><tr><th>run</th><th>scenario</th><th>outcome</th>"
        f"<th>tier</th><th>scorecard (launch seconds from fault)</th><th>expectation</th></tr>{body}</table>"
        "</body></html>"
    )
    out = reports / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
