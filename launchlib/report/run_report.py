"""``reports/<run>/report.html``: the one page to send after a rehearsal or a launch.

It opens anywhere, offline: plotly.js is inside it once, nothing comes from a CDN. It leads
with the outcome in words (the decision and its evidence, the scorecard against the tier's
deadline), then the charts on the launch clock, every phase's checklist, the rollback and its
verification, the messages sent and the sign-off audit trail, with links to the phase pages.
A part of the run folder that cannot be read is said on the page; the rest is still shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go

from launchlib.errors import RunError
from launchlib.report.explain import explain_decision, explain_proposals
from launchlib.report.launch_charts import (
    class_series,
    failure_figure,
    latency_figure,
    phase_timeline_figure,
    signoff_figure,
)
from launchlib.report.run_data import RunData, load_run
from launchlib.report.scorecard import describe, verdict
from launchlib.runfolder.clock import clock
from launchlib.runfolder.events import Event, TimelineEvent
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import MANIFEST, Manifest

__all__ = ["report_page", "write_report"]


CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:76em;padding:1em 2em;color:#212121}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #eceff1;padding-bottom:.2em}
.meta{color:#546e7a}.summary{font-size:1.1em;background:#f5f7f8;padding:.6em 1.2em;border-radius:6px}
.summary.bad{border-left:6px solid #c62828}.summary.good{border-left:6px solid #2e7d32}
pre.decision{background:#fff3e0;padding:.8em;white-space:pre-wrap;border-radius:4px}
table{border-collapse:collapse;margin:.4em 0 1em}td,th{padding:3px 9px;border-bottom:1px solid #e0e0e0;
text-align:left;vertical-align:top}th{background:#fafafa}
.passed,.done,.rolled_back,.yes{color:#2e7d32}.failed,.blocked,.error,.interrupted,.no{color:#c62828}
.waived{color:#b28704}.skipped,.open{color:#757575}details{margin:.3em 0}summary{cursor:pointer}
.problem{color:#c62828}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(head: Iterable[str], rows: Iterable[Iterable[object]], classes: int | None = None) -> str:
    """An HTML table; ``classes`` names the column whose value is also the cell's CSS class."""
    hd = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            css = f" class='{_e(v)}'" if classes is not None and i == classes else ""
            cells.append(f"<td{css}>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{hd}</tr>{''.join(body)}</table>" if body else "<p>none</p>"


def _wall(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _figure(fig: go.Figure) -> str:
    return fig.to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}
    )


def _summary(run: RunData) -> str:
    m, card = run.manifest, run.manifest.scorecard
    lines = describe(card) if card else [f"No scorecard: {m.outcome}."]
    good = card is not None and card.as_expected is not False and not card.not_scored
    out = f"<div class='summary {'good' if good else 'bad'}'>" + "".join(f"<p>{_e(t)}</p>" for t in lines)
    out += "</div>"
    if run.decision is not None:
        block = explain_decision(run.decision, run.plan, m.compress, run.origin)
        out += "<h3>The decision</h3><pre class='decision'>" + _e("\n".join(block)) + "</pre>"
    if asked := explain_proposals(run.decisions, m.compress, run.origin):
        out += (
            "<h3>Proposed rollbacks and their answers</h3><pre class='decision'>"
            + _e("\n".join(asked))
            + "</pre>"
        )
    if card is not None and card.rollback:
        deadline = card.deadline_s
        rows = [
            ("detected", card.time_to_detect_s),
            ("decided", card.time_to_decide_s),
            ("rollback started", card.time_to_rollback_start_s),
            ("rolled back", card.time_to_rollback_s),
            ("recovered", card.time_to_recover_s),
        ]
        out += "<h3>Against the tier's deadline</h3>" + _table(
            ["step", "launch s after the fault's onset", f"deadline ({card.tier} tier)"],
            [
                (k, "—" if v is None else f"{v:g}", "" if deadline is None else f"{deadline:g} s")
                for k, v in rows
            ],
        )
    return out


def _phases(run: RunData) -> str:
    rows = []
    for p in run.manifest.phases:
        took = "" if p.started is None or p.finished is None else f"{p.finished - p.started:.1f} s"
        page = f"<a href='{_e(p.html)}'>{_e(p.phase)} page</a>" if p.html else ""
        at = "" if p.started is None else clock(run.launch_s(p.started))
        rows.append(
            f"<tr><td>{_e(p.phase)}</td><td>{_e(at)}</td><td class='{_e(p.status)}'>{_e(p.status)}</td>"
            f"<td>{_e(took)}</td><td>{_e(p.reason)}</td><td>{page}</td></tr>"
        )
    out = (
        "<table><tr><th>phase</th><th>started</th><th>status</th><th>took</th><th>reason</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    for phase, res in run.results.items():
        if not res.items:
            continue
        done = sum(i.satisfied for i in res.items)
        out += f"<details><summary>{_e(phase)} checklist: {done} of {len(res.items)} satisfied</summary>"
        out += _table(
            ["item", "owner", "state", "who", "when", "comment"],
            [
                (
                    i.text,
                    i.owner or "any role",
                    i.state,
                    i.by or "",
                    (i.at or "")[:19],
                    i.note,
                )
                for i in res.items
            ],
            classes=2,
        )
        out += "</details>"
    return out


def _rollback(run: RunData) -> str:
    rb = run.manifest.rollback
    if rb is None:
        return "<p>No rollback.</p>"

    def at(wall: float | None) -> str:
        return "—" if wall is None else clock(run.launch_s(wall))

    facts = [
        ("procedures", ", ".join(rb.procedures)),
        ("tier", rb.tier or ""),
        ("started", at(rb.started)),
        ("completed", at(rb.completed)),
        ("post-rollback checks green", at(rb.checks_green)),
        ("bad rollback caught", "yes" if rb.bad_rollback_caught else "no"),
        ("database restored", "yes" if rb.database_rollback else "no"),
        ("incident type", rb.issue_type),
        ("notified", ", ".join(rb.notified)),
    ]
    out = _table(["", ""], facts)
    out += "<h3>Verification</h3>" + _table(
        ["check", "result", "detail"],
        [(c.text, "passed" if c.passed else "failed", c.detail) for c in rb.checks],
        classes=1,
    )
    rounds = [e for e in run.events if e.event == Event.POST_CHECKS_PENDING]
    if rounds:  # the rounds before the last: what was not green yet, and when
        out += f"<p>{len(rounds)} earlier round(s) not green:</p>" + _table(
            ["when", "round", "failing"],
            [(at(e.at), e.info("round", ""), _failing(e)) for e in rounds],
        )
    return out


def _failing(event: TimelineEvent) -> str:
    failing = event.info("failing")
    return "; ".join(f"{k}: {v}" for k, v in failing.items()) if isinstance(failing, dict) else ""


def _messages(run: RunData) -> str:
    rows = []
    for n in run.notifications:
        rows.append((clock(run.launch_s(n.at)), n.phase, n.kind, n.recipients(), n.message))
    return _table(["when", "phase", "kind", "to", "message"], rows)


def _audit(run: RunData) -> str:
    def when(ts: str) -> str:
        wall = datetime.fromisoformat(ts).timestamp()
        return f"{clock(run.launch_s(wall))} ({ts[11:19]})"

    rows = [
        (e.seq, when(e.ts), e.phase, e.item, e.role, e.person, str(e.state), str(e.source), e.comment)
        for e in run.signoffs
    ]
    head = ["#", "when (UTC)", "phase", "item", "role", "person", "state", "source", "comment"]
    return _table(head, rows, classes=6)


def _charts(run: RunData) -> str:
    series = class_series(run)  # computed once for the latency and the failure chart
    figures = [latency_figure(run, series), failure_figure(run, series), phase_timeline_figure(run)]
    return "".join(_figure(f) for f in [*figures, signoff_figure(run)])


def report_page(run: RunData, problems: list[str] | None = None) -> str:
    """The run report as one HTML document (plotly.js inline once)."""
    from plotly.offline import get_plotlyjs  # heavy: 4.8 MB of JavaScript, once per report

    m, problems = run.manifest, list(problems or [])
    rel = run.plan.releases
    sections: list[tuple[str, Callable[[], str]]] = [("Summary", lambda: _summary(run))]
    sections.append(("On the launch clock", lambda: _charts(run)))
    sections += [
        ("Phases and checklists", lambda: _phases(run)),
        ("Rollback and its verification", lambda: _rollback(run)),
        ("Communication log", lambda: _messages(run)),
        ("Sign-off audit trail", lambda: _audit(run)),
    ]
    body = []
    for title, make in sections:
        try:
            body.append(f"<h2>{_e(title)}</h2>{make()}")
        except Exception as exc:  # one unreadable part must not hide the others; the page says so
            problems.append(f"{title}: {type(exc).__name__}: {exc}")
            body.append(f"<h2>{_e(title)}</h2><p class='problem'>could not be shown: {_e(exc)}</p>")
    took = "" if m.finished is None else f" · took {m.finished - m.started:.0f} s"
    meta = (
        f"scenario {_e(m.scenario or 'launch')} · target {_e(m.target)} · {_e(rel.previous)} → "
        f"{_e(rel.candidate)} · clock {m.compress:g}× · started {_wall(m.started)}{took}"
        f" · plan {m.plan_hash[:12]}"
    )
    verdict_line = verdict(m.scorecard) if m.scorecard else m.outcome
    warn = "".join(f"<p class='problem'>{_e(p)}</p>" for p in problems)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(m.run_id)}: {_e(m.outcome)}</title>"
        f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>"
        f"<h1>Run {_e(m.run_id)}: {_e(m.outcome)}</h1><p class='meta'>{meta}</p>"
        f"<p class='meta'>{_e(verdict_line)} · <a href='{MANIFEST}'>manifest</a> · "
        f"<a href='../index.html'>all runs</a></p>{warn}{''.join(body)}</body></html>"
    )


def write_report(run_dir: Path, m: Manifest) -> tuple[Path, list[str]]:
    """Write ``report.html`` for ``m``'s run; returns its path and what could not be shown."""
    problems: list[str] = []
    try:
        run = load_run(run_dir)
    except RunError as exc:  # e.g. a notebook unreadable by scrapbook: the rest is still worth a page
        problems.append(str(exc))
        run = load_run(run_dir, with_results=False)
    run.manifest = m
    out = RunFolder(run_dir).report_file
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(report_page(run, problems), encoding="utf-8")
    tmp.replace(out)
    return out, problems
