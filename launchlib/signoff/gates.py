"""Go/no-go gates: which required items are satisfied, read from the sign-off ledger.

An item is satisfied when a person's latest sign-off is ``done`` or ``waived``, or — for an
item with an automated check — when its latest check result passed (a waiver also counts).
The go/no-go gate before T-0 covers every pre-launch phase; the launch-success gate at T+1h
covers that phase's items plus the success criteria, passed in as extra findings.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field

from launchlib.plan.model import Plan, Stage
from launchlib.runfolder.records import GateRecord, ItemState
from launchlib.signoff.ledger import Event, Ledger, Source

__all__ = [
    "GateResult",
    "evaluate_gate",
    "go_no_go",
    "item_statuses",
    "pre_launch_phases",
    "render_status",
]


def item_statuses(plan: Plan, events: Iterable[Event], phases: Iterable[str]) -> list[ItemState]:
    """The status of every item of ``phases`` from ledger events (oldest first)."""
    person: dict[tuple[str, str], Event] = {}
    check: dict[tuple[str, str], Event] = {}
    for e in events:
        (check if e.source == Source.CHECK else person)[(e.phase, e.item)] = e
    out = []
    for ph in phases:
        for it in plan.phase(ph).items:
            p, c = person.get((ph, it.id)), check.get((ph, it.id))
            out.append(
                ItemState(
                    phase=ph,
                    item=it.id,
                    text=it.text,
                    owner=it.owner,
                    check=it.check,
                    required=it.required,
                    signed=str(p.state) if p else None,
                    by=p.person if p else None,
                    role=p.role if p else None,
                    at=p.ts if p else None,
                    comment=p.comment if p else "",
                    check_state=str(c.state) if c else None,
                    check_detail=c.comment if c else "",
                )
            )
    return out


@dataclass(frozen=True)
class GateResult:
    """GO when no required item is open and no extra finding failed."""

    name: str
    phases: list[str]
    items: list[ItemState]
    findings: list[str] = field(default_factory=list)

    @property
    def open_items(self) -> list[ItemState]:
        return [s for s in self.items if s.required and not s.satisfied]

    @property
    def go(self) -> bool:
        return not self.open_items and not self.findings

    def reasons(self) -> list[str]:
        """One line per open item or failed finding, for the banner, manifest and report."""
        lines = [
            f"{s.phase}/{s.item} ({s.owner or 'any role'}): {s.text} — {s.state}" for s in self.open_items
        ]
        return lines + self.findings

    def to_record(self) -> GateRecord:
        """The gate as the phase result and the manifest record it."""
        return GateRecord(
            name=self.name,
            go=self.go,
            phases=self.phases,
            open=list(self.open_items),
            findings=self.findings,
            reasons=self.reasons(),
            satisfied=sum(s.satisfied for s in self.items if s.required),
            required=sum(s.required for s in self.items),
        )


def pre_launch_phases(plan: Plan) -> list[str]:
    return [p.id for p in plan.phases if p.stage == Stage.PRE_LAUNCH]


def evaluate_gate(
    plan: Plan,
    ledger: Ledger,
    phases: Iterable[str],
    *,
    name: str,
    findings: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> GateResult:
    """A gate over ``phases``; ``exclude`` (``PHASE/item``) are the gate's own items."""
    phases, skip = list(phases), set(exclude)
    items = [s for s in item_statuses(plan, ledger.history(), phases) if f"{s.phase}/{s.item}" not in skip]
    return GateResult(name=name, phases=phases, items=items, findings=list(findings))


def go_no_go(plan: Plan, ledger: Ledger, *, exclude: Iterable[str] = ()) -> GateResult:
    """The go/no-go gate before T-0: every required pre-launch item passed or signed off."""
    return evaluate_gate(plan, ledger, pre_launch_phases(plan), name="go/no-go", exclude=exclude)


def status_html(statuses: list[ItemState], gate: GateResult) -> str:
    """The checklist as a static HTML table (item, owner, state, who, when, comment) under the gate
    line: what a phase page shows where the widget cannot be drawn (nbconvert HTML, a mail)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s.phase)}</td><td>{e(s.text)}</td><td>{e(s.owner or 'any role')}</td>"
        f"<td class='launchlib-state-{e(s.state)}'>{e(s.state)}</td><td>{e(s.by or '')}</td>"
        f"<td>{e((s.at or '')[:19].replace('T', ' '))}</td><td>{e(s.note)}</td></tr>"
        for s in statuses
    )
    head = f"{'GO' if gate.go else 'NO-GO'} ({gate.name}): "
    head += "every required item satisfied" if gate.go else f"{len(gate.reasons())} open"
    return (
        f"<div class='launchlib-checklist-table'><p><b>{e(head)}</b></p><table><tr><th>phase</th>"
        "<th>item</th><th>owner</th><th>state</th><th>who</th><th>when (UTC)</th><th>comment</th></tr>"
        f"{rows}</table></div>"
    )


def render_status(statuses: list[ItemState], gate: GateResult) -> str:
    """A plain-text table of item states (who, when, check result) and the gate line."""
    rows = [("phase", "item", "owner", "state", "by", "at", "note")]
    for s in statuses:
        rows.append((s.phase, s.item, s.owner or "-", s.state, s.by or "", (s.at or "")[:19], s.note[:60]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)) + "  " + r[-1] for r in rows]
    head = f"{'GO' if gate.go else 'NO-GO'} ({gate.name}): "
    head += "every required item satisfied" if gate.go else f"{len(gate.reasons())} open"
    return "\n".join([*lines, "", head])
