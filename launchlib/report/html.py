"""The pages of one run: each phase notebook as HTML, and the run report.

Phase pages are nbconvert HTML without the code (as papermill's report mode), drawing their
charts with one ``plotly.min.js`` per run folder. The run report is :mod:`launchlib.report.run_report`.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

__all__ = ["PLOTLY_JS", "render_html"]

PLOTLY_JS = "plotly.min.js"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_REMOTE_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', re.IGNORECASE)


def render_html(notebook: Path, out: Path) -> Path:
    """nbconvert HTML of an executed notebook, code hidden, drawing its charts with the folder's plotly.js."""
    import nbformat  # heavy, with nbconvert: only when a page is written
    from nbconvert import HTMLExporter  # heavy: loads Jinja templates and mistune

    js = out.parent / PLOTLY_JS
    if not js.exists():
        from plotly.offline import get_plotlyjs  # heavy: 4.8 MB of JavaScript, once per folder

        js.write_text(get_plotlyjs(), encoding="utf-8")
    with warnings.catch_warnings():  # scrapbook's own MIME type has no HTML form: that is expected
        warnings.filterwarnings("ignore", message=".*is not able to be represented", category=UserWarning)
        exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        nb = nbformat.read(notebook, as_version=4)
        # widget views need a renderer from a CDN: offline the page shows the checklist's static table
        nb.metadata.pop("widgets", None)
        _drop_widget_views(nb)
        body, _ = exporter.from_notebook_node(nb)
    body = _REMOTE_SCRIPT.sub("", body)  # require.js and MathJax from a CDN: the pages need neither
    body = body.replace("<head>", f'<head>\n<script src="{PLOTLY_JS}"></script>', 1)
    out.write_text(body, encoding="utf-8")
    return out


def _drop_widget_views(nb: Any) -> None:
    """Without a widget renderer a view falls back to its Python repr at the time it was shown
    (``VBox(children=(HBox(…``, a progress bar at 0 %): nothing a reader should see. The
    checklist's static table is its own output and stays."""
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
