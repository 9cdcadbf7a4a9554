"""What the war room's screen shows of a run, now: banner, triggers, phase, checklist, messages.

:func:`war_room_view` reads a run folder as the monitor and the runner write it (manifest, the
monitor's status with each trigger's state, decisions, proposals and answers, events, sign-off
ledger, notifications, samples) and :class:`WarRoomView` turns it into the pieces of the page:
a banner with the decision and its evidence (or the proposal waiting for an answer), each
trigger's state (quiet, pending with how long it has held against its ``for``, fired), the
current phase and its checklist with who signed, the communication log, and the same launch-clock
charts as the report. A finished run reads the same way: then the page is the report, live-styled.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

from launchlib.report.explain import explain_decision, explain_proposals
from launchlib.report.run_data import RunData, load_run
from launchlib.report.scorecard import clock
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import Outcome
from launchlib.runfolder.records import ProposalRecord
from launchlib.runfolder.status import MonitorStatus, TriggerState, read_status
from launchlib.signoff.answers import pending_proposal
from launchlib.signoff.gates import GateResult, item_statuses, status_html

__all__ = ["Banner", "WarRoomView", "war_room_view"]

_LEVEL_COLOR = {"watching": "#2e7d32", "proposed": "#b28704", "decided": "#c62828", "ended": "#37474f"}


@dataclass(frozen=True)
class Banner:
    """The line across the top: its level (watching, proposed, decided, ended) and what it says."""

    level: str
    title: str
    lines: tuple[str, ...] = ()

    def html(self) -> str:
        e = html.escape
        body = "".join(f"<div>{e(line)}</div>" for line in self.lines)
        return (
            f"<div class='launchlib-banner launchlib-banner-{self.level}' data-level='{self.level}' "
            f"style='background:{_LEVEL_COLOR[self.level]};color:white;padding:10px 14px;border-radius:6px'>"
            f"<b style='font-size:1.3em'>{e(self.title)}</b>"
            f"<pre style='color:white;margin:4px 0 0'>{body}</pre></div>"
        )


@dataclass
class WarRoomView:
    """A run as the war room sees it at ``now``."""

    run: RunData
    status: MonitorStatus | None
    proposal: ProposalRecord | None
    now: float

    @property
    def finished(self) -> bool:
        return self.run.manifest.kind is not Outcome.RUNNING

    @property
    def clock(self) -> str:
        return clock(self.run.launch_s(self.now)) if self.run.origin is not None else "before T-0"

    def current_phase(self) -> str | None:
        """The phase running now: the first of the plan (or the rollback) not yet in the manifest."""
        if self.finished:
            return None
        done = {p.phase for p in self.run.manifest.phases}
        if self.run.decision is not None and "rollback" not in done:
            return "rollback"
        return next((p.id for p in self.run.plan.phases if p.id not in done), None)

    def banner(self) -> Banner:
        run, m = self.run, self.run.manifest
        d = run.decision
        if d is not None:
            lines = explain_decision(d, run.plan, m.compress, run.origin)
            tail = f" — {m.outcome}" if self.finished else ""
            return Banner("decided", f"{lines[0]}{tail}", tuple(lines[1:]))
        if self.proposal is not None:
            asked = explain_proposals([self.proposal], m.compress, run.origin)
            return Banner(
                "proposed", f"PROPOSED ROLLBACK ({self.proposal.tier}): waiting for an answer", (asked[0],)
            )
        answered = tuple(explain_proposals(run.decisions, m.compress, run.origin)[-2:])  # the last answer
        if self.finished:
            return Banner(
                "ended", f"{m.outcome.upper()} at {clock(run.launch_s(m.finished or self.now))}", answered
            )
        phase = self.current_phase() or "-"
        return Banner("watching", f"{self.clock} · {phase} · no rollback decision", answered)

    def triggers(self) -> list[TriggerState]:
        """Each trigger's state: the monitor's, else (no status with states) fired ones from the
        decisions and the rest quiet."""
        if self.status is not None and self.status.triggers:
            return self.status.triggers
        fired = {f.id: f for f in self.run.firings}
        out = []
        for tier, trig in self.run.plan.triggers():
            f = fired.get(trig.id)
            out.append(
                TriggerState(
                    id=trig.id,
                    tier=tier.id,
                    state="fired" if f else "quiet",
                    threshold=trig.condition.threshold,
                    fired_at=f.first_at if f else None,
                )
            )
        return out

    def triggers_html(self) -> str:
        e, rows = html.escape, []
        for t in self.triggers():
            if t.state == "fired":
                what = f"fired at {clock(self.run.launch_s(t.fired_at))}" if t.fired_at else "fired"
            elif t.state == "pending":
                what = f"pending: held {t.held_s:.0f} s of {t.for_s:.0f} s"
            else:
                what = "quiet"
            value = (
                ""
                if t.value is None
                else f"{t.value:.3g} {t.op} {t.threshold if t.threshold is not None else ''}"
            )
            rows.append(
                f"<tr class='launchlib-trigger launchlib-trigger-{e(t.id)} launchlib-{t.state}'>"
                f"<td>{e(t.id)}</td><td>{e(str(t.tier))}</td><td class='state'>{e(what)}</td>"
                f"<td>{e(value)} {e(t.unit)}</td></tr>"
            )
        return (
            "<table class='launchlib-triggers'><tr><th>trigger</th><th>tier</th><th>state</th>"
            f"<th>value</th></tr>{''.join(rows)}</table>"
        )

    def checklist_html(self) -> str:
        """The current phase's checklist with who signed (the finished run: the last phase's)."""
        phase = self.current_phase() or (
            self.run.manifest.phases[-1].phase if self.run.manifest.phases else None
        )
        if phase is None or phase == "rollback":
            return ""
        statuses = item_statuses(self.run.plan, self.run.signoffs, [phase])
        gate = GateResult(name=phase, phases=[phase], items=statuses)
        return f"<h3>{html.escape(phase)} checklist</h3>" + status_html(statuses, gate)

    def messages_html(self, last: int = 12) -> str:
        e, rows = html.escape, []
        for n in self.run.notifications[-last:]:
            rows.append(
                f"<tr><td>{e(clock(self.run.launch_s(n.at)))}</td><td>{e(n.kind)}</td>"
                f"<td>{e(n.recipients())}</td><td>{e(n.message[:160])}</td></tr>"
            )
        if not rows:
            return "<p class='launchlib-messages'>No message sent yet.</p>"
        return (
            "<table class='launchlib-messages'><tr><th>when</th><th>kind</th><th>to</th><th>message</th></tr>"
            f"{''.join(reversed(rows))}</table>"
        )

    def progress(self) -> str:
        """How far the charts reach: samples recorded and the launch time of the newest."""
        s = self.run.samples
        if s.empty:
            return "0 samples"
        newest = float(s["ts"].max())
        reach = clock(self.run.launch_s(newest)) if self.run.origin is not None else "before T-0"
        return f"{len(s)} samples, charts to {reach}"


def war_room_view(run_dir: Path | str, now: float | None = None) -> WarRoomView:
    """The war room's view of a run folder as it is now."""
    folder = RunFolder(run_dir)
    run = load_run(folder.path, with_results=False)
    return WarRoomView(
        run=run,
        status=read_status(folder.monitor_file),
        proposal=pending_proposal(folder.path),
        now=time.time() if now is None else now,
    )
