"""The plan's test matrix: for each rehearsed scenario, did the plan catch it as expected, in time?

A team that changes its plan (a threshold, a window, a procedure) rehearses every scenario and
reads one table: the expected and actual decision, tier and causes, detect → decide → recover
against the tier's deadline, false rollbacks, and with repeats how often each held. The table is
written as ``reports/fidelity-<stamp>.json`` (for scripts and CI) and ``.html`` (for people).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from launchlib.report.run_data import RunData
from launchlib.runfolder.folder import Outcome

__all__ = [
    "FIDELITY_PREFIX",
    "FidelityRow",
    "ScenarioFidelity",
    "fidelity",
    "latest_fidelity",
    "write_fidelity",
]

FIDELITY_PREFIX = "fidelity-"  # reports/fidelity-<UTC stamp>.html and .json


@dataclass
class FidelityRow:
    """One rehearsal of one scenario against its expectation."""

    scenario: str
    run_id: str
    expected: str  # "rollback (immediate)" or "no rollback"
    actual: str
    expected_causes: list[str]
    causes: list[str]
    detect_s: float | None
    decide_s: float | None
    recover_s: float | None
    deadline_s: float | None
    within_deadline: bool | None
    false_rollback: bool
    held: bool
    why: list[str] = field(default_factory=list)


@dataclass
class ScenarioFidelity:
    """A scenario over its repeats: how often the plan held."""

    scenario: str
    runs: list[FidelityRow]

    @property
    def held(self) -> int:
        return sum(r.held for r in self.runs)

    @property
    def holds(self) -> bool:
        return self.held == len(self.runs)


def _what(rollback: bool, tier: object) -> str:
    return f"rollback ({tier})" if rollback else "no rollback"


def _row(run: RunData) -> FidelityRow:
    m, sc = run.manifest, run.scenario
    card = m.scorecard
    exp = sc.expect if sc is not None else None
    rolled = bool(card and card.rollback)
    why = list(card.mismatches) if card else []
    if m.kind.broken or m.kind is Outcome.RUNNING:
        why.insert(0, f"the run did not finish: {m.outcome}")
    elif card is None or card.as_expected is None:
        why.insert(0, card.not_scored if card and card.not_scored else "not scored")
    return FidelityRow(
        scenario=m.scenario or "?",
        run_id=m.run_id,
        expected=_what(exp.rollback, exp.tier) if exp else "?",
        actual=_what(rolled, card.tier if card else None),
        expected_causes=list(exp.triggers) if exp else [],
        causes=list(card.triggers) if card else [],
        detect_s=card.time_to_detect_s if card else None,
        decide_s=card.time_to_decide_s if card else None,
        recover_s=card.time_to_recover_s if card else None,
        deadline_s=card.deadline_s if card else None,
        within_deadline=card.within_deadline if card else None,
        false_rollback=rolled and exp is not None and not exp.rollback,
        held=bool(card and card.as_expected) and not why,
        why=why,
    )


def fidelity(runs: list[RunData]) -> list[ScenarioFidelity]:
    """The runs grouped by scenario (in the order first rehearsed), each judged against its scenario."""
    by: dict[str, list[FidelityRow]] = {}
    for run in runs:
        row = _row(run)
        by.setdefault(row.scenario, []).append(row)
    return [ScenarioFidelity(s, rows) for s, rows in by.items()]


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def _html(table: list[ScenarioFidelity], title: str, skipped: dict[str, str]) -> str:
    e = html.escape
    rows = []
    for s in table:
        for r in s.runs:
            held = f"{s.held}/{len(s.runs)}" if len(s.runs) > 1 else ("held" if r.held else "MISSED")
            deadline = "" if r.deadline_s is None else f"{_num(r.decide_s)} / {r.deadline_s:.0f}"
            rows.append(
                f"<tr class='{'good' if r.held else 'bad'}'><td>{e(r.scenario)}</td><td>{e(held)}</td>"
                f"<td>{e(r.expected)}</td><td>{e(r.actual)}</td><td>{e(', '.join(r.expected_causes))}</td>"
                f"<td>{e(', '.join(r.causes))}</td><td>{_num(r.detect_s)}</td><td>{e(deadline)}</td>"
                f"<td>{_num(r.recover_s)}</td><td>{'yes' if r.false_rollback else ''}</td>"
                f"<td><a href='{e(r.run_id)}/report.html'>{e(r.run_id)}</a></td>"
                f"<td>{e('; '.join(r.why))}</td></tr>"
            )
    heads = "".join(
        f"<th>{h}</th>"
        for h in (
            "scenario",
            "held",
            "expected",
            "actual",
            "expected causes",
            "causes",
            "detect s",
            "decide s / deadline s",
            "recover s",
            "false rollback",
            "run",
            "why not",
        )
    )
    missed = [s.scenario for s in table if not s.holds]
    verdict = f"{len(table) - len(missed)} of {len(table)} scenarios held" + (
        f"; missed: {', '.join(missed)}" if missed else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1em 2em}"
        "td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
        ".good td:nth-child(2){color:#2e7d32}.bad td:nth-child(2){color:#c62828;font-weight:bold}"
        f"</style></head><body><h1>{e(title)}</h1><p class='{'bad' if missed else 'good'}'>"
        f"<b>{e(verdict)}</b>. Times are launch seconds from the fault's onset (a ramp: from when it is "
        f"detectable).</p><table><tr>{heads}</tr>{''.join(rows)}</table>{_skipped(skipped)}</body></html>"
    )


def _skipped(skipped: dict[str, str]) -> str:
    if not skipped:
        return ""
    items = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in skipped.items())
    return f"<p>Not rehearsed on this target ({len(skipped)}):</p><ul>{items}</ul>"


def write_fidelity(
    reports: Path | str,
    stem: str,
    table: list[ScenarioFidelity],
    title: str,
    skipped: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.html`` beside the run folders in ``reports`` (the page links
    each run's report); returns both paths. ``reports/index.html`` links the newest."""
    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    data = {
        "title": title,
        "held": all(s.holds for s in table),
        "scenarios": [
            {"scenario": s.scenario, "held": s.held, "of": len(s.runs), "runs": [asdict(r) for r in s.runs]}
            for s in table
        ],
        "skipped": skipped or {},
    }
    js, page = reports / f"{stem}.json", reports / f"{stem}.html"
    js.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    page.write_text(_html(table, title, skipped or {}), encoding="utf-8")
    return js, page


def latest_fidelity(reports: Path | str) -> Path | None:
    """The newest fidelity table's page in ``reports``, if any (the stamp sorts by time)."""
    pages = sorted(Path(reports).glob(f"{FIDELITY_PREFIX}*.html"))
    return pages[-1] if pages else None
