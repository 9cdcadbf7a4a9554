"""The pages of one run: each phase notebook as HTML, and the run report.

Phase pages are nbconvert HTML drawing their charts with one ``plotly.min.js`` per run folder;
``report.html`` gives the run at a glance with the scorecard in words.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

from launchlib.report.scorecard import describe
from launchlib.runfolder.folder import Manifest

__all__ = ["PLOTLY_JS", "render_html", "write_report"]

PLOTLY_JS = "plotly.min.js"


def render_html(notebook: Path, out: Path) -> Path:
    """nbconvert HTML of an executed notebook, drawing its charts with the folder's plotly.js."""
    import nbformat  # heavy, with nbconvert: only when a page is written
    from nbconvert import HTMLExporter  # heavy: loads Jinja templates and mistune

    js = out.parent / PLOTLY_JS
    if not js.exists():
        from plotly.offline import get_plotlyjs  # heavy: 4.8 MB of JavaScript, once per folder

        js.write_text(get_plotlyjs(), encoding="utf-8")
    with warnings.catch_warnings():  # scrapbook's own MIME type has no HTML form: that is expected
        warnings.filterwarnings("ignore", message=".*is not able to be represented", category=UserWarning)
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    body = body.replace("<head>", f'<head>\n<script src="{PLOTLY_JS}"></script>', 1)
    out.write_text(body, encoding="utf-8")
    return out


def write_report(run_dir: Path, m: Manifest) -> Path:
    """``report.html``: the run at a glance, the scorecard in words, linking every phase's HTML."""
    rows = "".join(
        f"<tr><td>{html.escape(p.phase)}</td><td class='{p.status}'>{html.escape(p.status)}</td>"
        f"<td>{'' if p.started is None or p.finished is None else f'{p.finished - p.started:.1f} s'}</td>"
        f"<td>{html.escape(p.reason)}</td>"
        f"<td>{f'<a href={chr(39)}{p.html}{chr(39)}>notebook</a>' if p.html else ''}</td></tr>"
        for p in m.phases
    )
    words = "".join(f"<p>{html.escape(line)}</p>" for line in describe(m.scorecard)) if m.scorecard else ""
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(m.run_id)}</title><style>"
        "body{font-family:sans-serif;max-width:70em}td,th{padding:3px 8px;border-bottom:1px solid #ddd;"
        "text-align:left}.passed,.rolled_back{color:#2e7d32}.failed,.error,.interrupted{color:#c62828}"
        ".skipped{color:#777}</style></head><body>"
        f"<h1>Run {html.escape(m.run_id)}: {html.escape(m.outcome)}</h1>"
        f"<p>scenario {html.escape(m.scenario or '-')} · target {html.escape(m.target)}"
        f" · compression {m.compress:g}× · plan {m.plan_hash[:12]}</p>"
        f"<h2>Scorecard</h2>{words}<h2>Phases</h2><table>{rows}</table>"
        "</body></html>"
    )
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
