"""The decision in words: each cause with its evidence against its threshold, on the launch clock.

The console's decision block and the run report say the same sentences, from the same records.
"""

from __future__ import annotations

from launchlib.plan.model import Plan
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.records import AnswerRecord, DecisionRecord, Firing, Line, ProposalRecord

__all__ = ["explain_decision", "explain_firing", "explain_proposals"]


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "ratio":
        return f"{value:.1%}" if abs(value) < 10 else f"{value:g}"
    if unit in ("ms", "s"):
        return f"{value:.0f} {unit}" if abs(value) >= 10 else f"{value:.2g} {unit}"
    return f"{value:g}"


def explain_firing(firing: Firing, plan: Plan, compress: float, origin: float | None) -> str:
    """``performance_degradation: API p95 812 ms > 1.5 × baseline 54 ms (…), held 30 s, fired at T+2m40s``."""
    ev = firing.evidence
    trig = next((t for _, t in plan.triggers() if t.id == firing.id), None)
    cond = trig.condition if trig else None
    classes = "/".join(cond.classes) if cond and cond.classes else "all"
    if ev.measured_ms is not None and ev.baseline_ms is not None:
        what = (
            f"p95[{classes}] {ev.measured_ms:.0f} ms > {1 + (ev.threshold or 0):.2g} × baseline "
            f"{ev.baseline_ms:.0f} ms ({ev.baseline_samples} samples over "
            f"{ev.baseline_span_s or 0:.0f} s)"
        )
        if ev.min_change_ms:
            what += f", +{ev.measured_ms - ev.baseline_ms:.0f} ms ≥ {ev.min_change_ms:.0f} ms"
    elif ev.op == "event":  # an event is the same from either source
        what = f"{ev.value:g} event(s)"
    else:
        metric = cond.metric.value if cond else "value"
        what = f"{metric}[{classes}] {_num(ev.value, ev.unit)} {ev.op} {_num(ev.threshold, ev.unit)}"
    held = (ev.window_end - ev.first_true) * compress
    window = (ev.window_end - ev.window_start) * compress
    at = LaunchClock(origin, compress).at(firing.first_at) if origin is not None else "?"
    counted = f"{ev.samples} requests (Prometheus)" if ev.query else f"{ev.samples} samples"
    said = f"{firing.id}: {what}; {counted} in a {window:.0f}-s window, held {held:.0f} s, fired at {at}"
    return said + (f"; query: {ev.query}" if ev.query else "")


def explain_decision(
    decision: DecisionRecord, plan: Plan, compress: float, origin: float | None
) -> list[str]:
    """The decision block: when, which tier, and each cause with its evidence."""
    at = LaunchClock(origin, compress).at(decision.recorded_at) if origin is not None else "?"
    head = f"DECISION at {at}: {decision.tier} rollback"
    if decision.answer is not None:  # a proposal a person accepted, or its timeout
        head += " (proposed, accepted)" if decision.answer == "accept" else " (proposed, no answer in time)"
    return [head, *("  " + explain_firing(f, plan, compress, origin) for f in decision.triggers)]


def explain_proposals(records: list[Line], compress: float, origin: float | None) -> list[str]:
    """Each proposed rollback and what became of it: who answered, when and why, or the timeout."""
    clock = LaunchClock(origin, compress)
    answers: dict[str, AnswerRecord] = {}
    for r in records:
        if isinstance(r, AnswerRecord):
            answers.setdefault(r.proposal, r)  # the first answer counts
    out = []
    for p in (r for r in records if isinstance(r, ProposalRecord)):
        out.append(
            f"PROPOSED at {clock.at(p.proposed_at)}: {p.tier} rollback ({', '.join(p.causes)});"
            f" {' or '.join(p.roles)} to answer by {clock.at(p.deadline)}, else {p.default}"
        )
        a = answers.get(p.id)
        if a is None:
            out.append("  no answer recorded (the run ended, or a more urgent tier decided first)")
        elif a.answer == "timeout":
            out.append(f"  NO ANSWER by {clock.at(a.answered_at)}: the plan's default acted: {a.acted}")
        else:
            why = f": {a.reason}" if a.reason else ""
            out.append(
                f"  {a.answer.upper()}ED by {a.by} ({a.role}) at {clock.at(a.answered_at)} -> {a.acted}{why}"
            )
    return out
