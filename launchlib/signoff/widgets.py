"""The sign-off checklist as ipywidgets: one box per owner role, a live GO / NO-GO banner.

Ticking a box writes to the ledger at once through :func:`launchlib.signoff.rules.sign`, so the
same rules hold as on the CLI: a refusal (wrong role, automated item without a waiver reason)
is shown in the status line and the box springs back. Items with an automated check show the
check's result; typing a reason in their comment field and ticking waives them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from launchlib.errors import LedgerError
from launchlib.plan.model import ALL_TEAMS, Plan
from launchlib.runfolder.records import ItemState
from launchlib.signoff.gates import GateResult, evaluate_gate, status_html
from launchlib.signoff.ledger import Ledger, SignState
from launchlib.signoff.rules import COMMANDER, sign

__all__ = ["Checklist", "checklist", "item_class"]

_BANNER = (
    "<div class='launchlib-gate launchlib-gate-{cls}' style='padding:6px 10px;border-radius:4px;"
    "font-weight:bold;color:white;background:{bg}'>{title}</div>{detail}"
)


def banner_html(gate: GateResult) -> str:
    """The gate banner: GO in green, or NO-GO in red with the open items listed."""
    if gate.go:
        return _BANNER.format(
            cls="go", bg="#2e7d32", title=f"GO — {gate.name}: every required item satisfied", detail=""
        )
    items = "".join(f"<li>{html.escape(r)}</li>" for r in gate.reasons())
    return _BANNER.format(
        cls="nogo",
        bg="#c62828",
        title=f"NO-GO — {gate.name}: {len(gate.reasons())} open",
        detail=f"<ul>{items}</ul>",
    )


class Checklist:
    """Widgets for one phase (or several: a gate's phases) backed by a ledger."""

    def __init__(
        self,
        plan: Plan,
        ledger: Ledger,
        phases: list[str],
        *,
        gate_name: str = "phase gate",
        role: str = COMMANDER,
        person: str | None = None,
    ) -> None:
        self.plan, self.ledger, self.phases, self.gate_name = plan, ledger, phases, gate_name
        holder = plan.role(role)
        self.role = w.Dropdown(
            options=[(r.title, r.id) for r in plan.roles], value=holder.id, description="Signing as"
        )
        self.person = w.Text(value=person or holder.name, description="Name")
        self.role.observe(self._role_changed, names="value")
        self.status = w.HTML(value="")
        self.banner = w.HTML(value="")
        self._rows: dict[tuple[str, str], tuple[w.Checkbox, w.HTML, w.Text]] = {}
        # Others sign from the CLI, another notebook or the Voilà page: Refresh re-reads the ledger.
        self.reload = w.Button(description="Refresh", icon="refresh", tooltip="re-read the ledger")
        self.reload.add_class("launchlib-refresh")
        self.reload.on_click(lambda _b: self.refresh())
        header = w.HBox([self.role, self.person, self.reload])
        self.widget = w.VBox([header, self.banner, *self._groups(), self.status])
        self.widget.add_class("launchlib-checklist")
        self.refresh()

    def _role_changed(self, change: dict[str, Any]) -> None:
        self.person.value = self.plan.role(change["new"]).name

    def _groups(self) -> list[w.Widget]:
        by_owner: dict[str, list[tuple[str, Any]]] = {}
        for ph in self.phases:
            for it in self.plan.phase(ph).items:
                by_owner.setdefault(it.owner or ALL_TEAMS, []).append((ph, it))
        boxes = []
        for owner, items in by_owner.items():
            title = "Any role" if owner == ALL_TEAMS else self.plan.role(owner).title
            rows = [w.HTML(f"<b>{html.escape(title)}</b>")]
            for ph, it in items:
                box = w.Checkbox(
                    value=False,
                    description=f"{ph} · {it.text}",
                    indent=False,
                    layout=w.Layout(width="420px", flex="0 0 auto"),
                )
                box.add_class(item_class(ph, it.id))
                info, comment = (
                    w.HTML("", layout=w.Layout(flex="1 1 auto")),
                    w.Text(
                        placeholder="comment / waiver reason", layout=w.Layout(width="220px", flex="0 0 auto")
                    ),
                )
                box.observe(self._ticked(ph, it.id, comment), names="value")
                self._rows[(ph, it.id)] = (box, info, comment)
                rows.append(w.HBox([box, comment, info]))
            boxes.append(
                w.VBox(rows, layout=w.Layout(border="1px solid #ddd", padding="4px", margin="4px 0"))
            )
        return boxes

    def _ticked(self, phase: str, item: str, comment: w.Text) -> Callable[[dict[str, Any]], None]:
        def handler(change: dict[str, Any]) -> None:
            if self._refreshing:
                return
            it = next(i for i in self.plan.phase(phase).items if i.id == item)
            if change["new"]:
                state = SignState.WAIVED if it.check is not None else SignState.DONE
            else:
                state = SignState.OPEN
            try:
                sign(
                    self.ledger,
                    self.plan,
                    phase,
                    item,
                    role=self.role.value,
                    person=self.person.value,
                    state=state,
                    comment=comment.value,
                )
                self.status.value = f"recorded: {phase}/{item} {state} by {html.escape(self.person.value)}"
            except LedgerError as exc:
                self.status.value = f"<span style='color:#c62828'>{html.escape(str(exc))}</span>"
            self.refresh()

        return handler

    _refreshing = False

    def gate(self) -> GateResult:
        return evaluate_gate(self.plan, self.ledger, self.phases, name=self.gate_name)

    def refresh(self) -> GateResult:
        """Re-read the ledger: boxes, who signed and when, check results, the banner."""
        gate = self.gate()
        self._refreshing = True
        try:
            for s in gate.items:
                box, info, _ = self._rows[(s.phase, s.item)]
                box.value = s.satisfied
                info.value = _info(s)
        finally:
            self._refreshing = False
        self.banner.value = banner_html(gate)
        return gate

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display  # there in a kernel; the library imports without IPython

        display(self.widget)
        gate = self.gate()  # and the same checklist as a static table: the phase page has no widgets
        display(HTML(status_html(gate.items, gate)))


def item_class(phase: str, item: str) -> str:
    """The CSS class of an item's checkbox (``launchlib-item-T_24h-backup_verification``), for scripts."""
    return f"launchlib-item-{phase.replace('+', 'p').replace('-', '_')}-{item}"


def _info(s: ItemState) -> str:
    parts = []
    if s.check:
        mark = {"done": "✔ passed", "blocked": "✘ failed"}.get(s.check_state or "", "… not run")
        parts.append(f"check <code>{s.check}</code>: {mark} {html.escape(s.check_detail)}")
    if s.signed:
        parts.append(f"{s.signed} by {html.escape(s.by or '')} ({s.role}) at {s.at}")
        if s.comment:
            parts.append(f"“{html.escape(s.comment)}”")
    return "<small>" + " · ".join(parts) + "</small>"


def checklist(plan: Plan, ledger: Ledger, phases: list[str] | str, **kwargs: Any) -> Checklist:
    """The checklist widget for a phase id or a list of phase ids."""
    return Checklist(plan, ledger, [phases] if isinstance(phases, str) else list(phases), **kwargs)
