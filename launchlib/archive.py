"""Run folders: creating them (never over an old one), the manifest, HTML renderings, the index.

``reports/<run-id>/`` holds the executed notebooks and their HTML, ``plotly.min.js`` once,
the samples, decisions and events, the sign-off ledger and ``manifest.json`` (versioned,
validated on write and read). ``reports/index.html`` lists every run.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from launchlib.errors import RunError
from launchlib.ledger import Ledger
from launchlib.plan import Plan
from launchlib.planfile import load_plan
from launchlib.runlog import write_json
from launchlib.scorecard import describe, verdict

__all__ = [
    "MANIFEST",
    "RUN_ID",
    "Manifest",
    "PhaseEntry",
    "check_run_id",
    "create_run",
    "open_run_ledger",
    "read_manifest",
    "render_html",
    "repair_run",
    "write_index",
    "write_manifest",
    "write_report",
]

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
PLOTLY_JS = "plotly.min.js"
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class PhaseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phase: str
    status: str
    reason: str = ""
    started: float | None = None
    finished: float | None = None
    notebook: str | None = None
    html: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = MANIFEST_VERSION
    run_id: str
    scenario: str | None = None
    target: str
    plan_hash: str
    compress: float
    started: float
    finished: float | None = None
    outcome: str = "running"
    phases: list[PhaseEntry] = Field(default_factory=list)
    decisions: list[dict[str, Any]] = Field(default_factory=list)
    rollback: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None
    scorecard: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    pid: int | None = None  # the runner's process while the run is running: a dead one means stale
    host: str | None = None


def check_run_id(run_id: str) -> str:
    """A run id is a name: letters, digits and ``. _ + -``, never a path (no ``/``, no ``..``)."""
    if not RUN_ID.match(run_id) or run_id in (".", "..") or ".." in run_id:
        raise RunError(f"--run-id {run_id!r}: a run id is a name: letters, digits and . _ + - only")
    return run_id


def create_run(reports: Path | str, run_id: str) -> Path:
    """A new run folder; an existing one is refused, never overwritten."""
    folder = Path(reports) / check_run_id(run_id)
    if Path(reports).exists() and not Path(reports).is_dir():
        raise RunError(f"{reports}: --reports is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise RunError(
            f"{folder}: a run with id {run_id!r} already exists; choose another --run-id"
        ) from None
    except OSError as exc:
        raise RunError(f"{folder}: cannot create the run folder: {exc.strerror}") from None
    return folder


def open_run_ledger(run_dir: Path, plan_path: Path) -> tuple[Plan, Ledger]:
    """The plan a run used (its own copy when it has one) and its ledger, for the CLI."""
    check_run_id(run_dir.name)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder (start the run first, e.g. launchlib run-phase)")
    repair_run(run_dir)
    own = run_dir / "plan.yaml"
    return load_plan(own if own.exists() else plan_path), Ledger.in_run(run_dir)


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    write_json(
        run_dir / MANIFEST, Manifest.model_validate(manifest.model_dump(mode="json")).model_dump(mode="json")
    )


def read_manifest(run_dir: Path | str) -> Manifest:
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing (not a run folder, or the run never started)") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    try:
        m = Manifest.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise RunError(f"{path}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}") from None
    if m.version != MANIFEST_VERSION:
        raise RunError(f"{path}: version {m.version} is not {MANIFEST_VERSION}")
    return m


def render_html(notebook: Path, out: Path) -> Path:
    """nbconvert HTML of an executed notebook, drawing its charts with the folder's plotly.js."""
    import nbformat
    from nbconvert import HTMLExporter

    js = out.parent / PLOTLY_JS
    if not js.exists():
        from plotly.offline import get_plotlyjs

        js.write_text(get_plotlyjs(), encoding="utf-8")
    with warnings.catch_warnings():  # scrapbook's own MIME type has no HTML form: that is expected
        warnings.filterwarnings("ignore", message=".*is not able to be represented", category=UserWarning)
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    body = body.replace("<head>", f'<head>\n<script src="{PLOTLY_JS}"></script>', 1)
    out.write_text(body, encoding="utf-8")
    return out


def _runner_alive(m: Manifest) -> bool:
    if m.pid is None or (m.host is not None and m.host != socket.gethostname()):
        return m.host is not None and m.host != socket.gethostname()  # another machine's run: trust it
    try:
        os.kill(m.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_run(run_dir: Path | str) -> Manifest | None:
    """Mark a run whose runner died (SIGKILL, power loss) as interrupted; ``None`` if it was fine.

    What the run recorded stays; the notebooks that ran get their HTML, the report is rewritten.
    """
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).exists():
        return None
    m = read_manifest(run_dir)
    if m.outcome != "running" or _runner_alive(m):
        return None
    ran = [e.phase for e in m.phases]
    m.outcome = f"interrupted: the runner (pid {m.pid}) stopped without finishing" + (
        f", after {ran[-1]}" if ran else ""
    )
    m.finished = max((p.stat().st_mtime for p in run_dir.iterdir()), default=m.started)
    m.error = {"phase": None, "cell": None, "message": m.outcome}
    m.scorecard = {**m.scorecard, "as_expected": None, "not_scored": m.outcome}
    for nb in sorted(run_dir.glob("*.ipynb")):
        html_path = nb.with_suffix(".html")
        if not html_path.exists():
            try:
                render_html(nb, html_path)
            except Exception:
                continue
    write_manifest(run_dir, m)
    write_report(run_dir, m)
    return m


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
        sc = m.scorecard
        card = ", ".join(
            f"{k.replace('_s', '').replace('_', ' ')} {sc[k]} s"
            for k in ("time_to_detect_s", "time_to_decide_s", "time_to_recover_s")
            if sc.get(k) is not None
        )
        expected = verdict(sc)
        report = f"{m.run_id}/report.html" if (folder / "report.html").exists() else f"{m.run_id}/{MANIFEST}"
        rows.append(
            (
                m.started,
                (
                    f"<tr><td><a href='{html.escape(report)}'>{html.escape(m.run_id)}</a></td>"
                    f"<td>{html.escape(m.scenario or '-')}</td><td>{html.escape(m.outcome)}</td>"
                    f"<td>{html.escape(sc.get('tier') or '-')}</td><td>{html.escape(card)}</td>"
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
