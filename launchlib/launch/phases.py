"""What each phase does, as one call per notebook: ``run_phase(ctx)`` returns its PhaseResult.

The kind of a phase follows from the plan: pre-launch phases run their checks and sign-offs
(the last one holds the go/no-go gate); T-0 captures the baseline, deploys and watches the
candidate come up; the launch phases after it run their checks and watch the monitor until the
next phase is due (returning early on a rollback decision); the last launch phase judges the
success criteria; the final phase is the review. ``rollback`` is its own kind.
"""

from __future__ import annotations

import time

from launchlib.evaluation.success import evaluate_success, period_metrics
from launchlib.launch.checks import run_item_checks
from launchlib.launch.context import PhaseContext, deploy_candidate
from launchlib.launch.monitor import wait_for_samples
from launchlib.launch.review import review
from launchlib.launch.rollback import PHASE as ROLLBACK
from launchlib.launch.rollback import execute_rollback
from launchlib.plan.model import Item, PhaseKind, Plan
from launchlib.probing.probes import CheckResult
from launchlib.runfolder.events import (
    Event,
    first_event,
    read_events,
    read_run_samples,
    record_event,
)
from launchlib.runfolder.records import (
    DecisionRecord,
    GateRecord,
    ItemState,
    Line,
    read_decisions,
    rollback_decision,
    wait_for_decision,
)
from launchlib.runfolder.result import PhaseResult, PhaseStatus
from launchlib.signoff.gates import evaluate_gate, go_no_go, item_statuses
from launchlib.signoff.rules import apply_signoffs, record_check

__all__ = ["phase_kind", "run_phase"]

BASELINE_S = 60.0  # launch seconds of baseline before the deploy
COVERAGE = 0.9  # a watching phase needs this share of the samples the monitor was to take


def phase_kind(plan: Plan, phase: str) -> PhaseKind:
    """What ``phase`` does, as the plan declares it (``rollback`` is the rollback notebook)."""
    return PhaseKind.ROLLBACK if phase == ROLLBACK else plan.phase(phase).kind


def _items(ctx: PhaseContext, checks: dict[str, CheckResult]) -> list[ItemState]:
    """The phase's items as it leaves them; a check run in this phase gives its own detail."""
    return [
        s.model_copy(update={"check_detail": checks[s.item].detail}) if s.item in checks else s
        for s in item_statuses(ctx.plan, ctx.ledger.history(ctx.phase), [ctx.phase])
    ]


def _firings(ctx: PhaseContext, since: float) -> list[Line]:
    return [r for r in read_decisions(ctx.run_dir) if r.recorded_at >= since]


def _next_offset(ctx: PhaseContext) -> int:
    ids = [p.id for p in ctx.plan.phases]
    return ctx.plan.phases[ids.index(ctx.phase) + 1].offset_s


def _watch(ctx: PhaseContext) -> DecisionRecord | None:
    """Wait until the next phase is due on the launch clock, or a rollback decision comes."""
    return wait_for_decision(ctx.run_dir, ctx.launch_wall(_next_offset(ctx)))


def _rollback(ctx: PhaseContext, decision: DecisionRecord | None, started: float) -> PhaseResult:
    if decision is None:
        return PhaseResult(
            phase=ROLLBACK,
            status=PhaseStatus.SKIPPED,
            reason="no rollback decision",
            started=started,
            finished=time.time(),
        )
    outcome = execute_rollback(ctx, decision)
    ok = outcome.checks_green is not None
    return PhaseResult(
        phase=ROLLBACK,
        status=PhaseStatus.ROLLED_BACK if ok else PhaseStatus.FAILED,
        reason="" if ok else "post-rollback checks not green",
        decisions=[decision],
        rollback=outcome,
        started=started,
        finished=time.time(),
    )


def _success(ctx: PhaseContext, declare: list[Item]) -> tuple[dict[str, float | None], GateRecord]:
    """The launch-success gate: this phase's items and the success criteria since the deploy.

    Its outcome is the automated result of the declaration items (``check: signoff``).
    """
    crit = evaluate_success(ctx.plan, read_run_samples(ctx.run_dir), ctx.deploy_at)
    findings = [
        f"{c.text}: {c.value if c.value is None else round(c.value, 4)}" for c in crit if c.passed is False
    ]
    g = evaluate_gate(
        ctx.plan,
        ctx.ledger,
        [ctx.phase],
        name="launch success",
        findings=findings,
        exclude=[f"{ctx.phase}/{i.id}" for i in declare],
    )
    for i in declare:
        record_check(ctx.ledger, ctx.phase, i.id, g.go, "GO" if g.go else "; ".join(g.reasons()))
    return {c.id: c.value for c in crit}, g.to_record()


def _announce(ctx: PhaseContext, gate: GateRecord, event: str, yes: str, no: str) -> None:
    """A gate's verdict to the whole war room (and its webhook channels)."""
    text = "every required item satisfied" if gate.go else "; ".join(gate.reasons[:3])
    more = f" (+{len(gate.reasons) - 3} more)" if len(gate.reasons) > 3 else ""
    ctx.notify(
        [r.id for r in ctx.plan.roles],
        f"{gate.name}: {text}{more}",
        kind=event,
        event=event,
        title=yes if gate.go else no,
    )


def _coverage(ctx: PhaseContext, start: float, end: float) -> str:
    """Why the monitor's samples of ``[start, end]`` are too few to judge this phase ('' if enough)."""
    status = wait_for_samples(ctx.run_dir, end - 0.5, timeout_s=3.0)
    if status is None:
        return "no monitor is watching this run (start `launchlib monitor` or run T-0 here)"
    rate = status.rate
    end -= 1.0  # requests still in flight at the end of the phase land after it
    if end - start < 2.0 or rate <= 0:
        return ""  # too short to judge
    ts = read_run_samples(ctx.run_dir)["ts"]
    n = int(((ts >= start) & (ts <= end)).sum())
    expected = rate * (end - start)
    if n >= COVERAGE * expected:
        return ""
    return (
        f"monitoring saw {n} samples in {end - start:.1f} s, expected at least "
        f"{COVERAGE * expected:.0f} ({COVERAGE:.0%} of {rate:g}/s): the phase cannot be judged"
    )


def run_phase(ctx: PhaseContext, decision: DecisionRecord | None = None) -> PhaseResult:
    """Do this phase's work against the target and return its result (see the module doc).

    An interrupt (the runner's, on a rollback decision, a dead monitor or Ctrl-C) ends the phase
    with status ``interrupted`` and the reason the runner recorded; what was done stays recorded.
    """
    started = time.time()
    try:
        res = _run_phase(ctx, decision, started)
    except KeyboardInterrupt:
        said = first_event(read_events(ctx.run_dir)[::-1], Event.INTERRUPT)
        why = said.reason if said is not None and said.reason else "stopped by the user"
        res = PhaseResult(
            phase=ctx.phase,
            status=PhaseStatus.INTERRUPTED,
            reason=why,  # the status already says interrupted: the reason says by what
            items=_items(ctx, {}) if ctx.phase != ROLLBACK else [],
            decisions=_firings(ctx, started),
            started=started,
            finished=time.time(),
        )
    record_event(ctx.run_dir, Event.PHASE_FINISHED, phase=ctx.phase, status=res.status.value)
    return res


def _run_phase(ctx: PhaseContext, decision: DecisionRecord | None, started: float) -> PhaseResult:
    kind = phase_kind(ctx.plan, ctx.phase)
    status, reason, extra, metrics = PhaseStatus.PASSED, "", {}, {}
    gate: GateRecord | None = None
    if kind is PhaseKind.ROLLBACK:
        return _rollback(ctx, decision or rollback_decision(ctx.run_dir), started)
    apply_signoffs(ctx.ledger, ctx.plan, ctx.signoffs, ctx.phase, ctx.skip_signoffs)
    items = ctx.plan.phase(ctx.phase).items
    if kind is PhaseKind.DEPLOY:
        # the monitor's samples of the previous release are the baseline: enough of them for a p95
        deploy_candidate(ctx, max(BASELINE_S / ctx.compress, ctx.plan.monitoring.min_real_window_s))
    watched = [i for i in items if i.check == "triggers"]
    checks = run_item_checks(ctx, [i for i in items if i.check != "triggers" and i.check != "signoff"])
    if kind in (PhaseKind.DEPLOY, PhaseKind.WATCH):
        decided = _watch(ctx)
        if decided is not None:
            status, reason = (
                PhaseStatus.FAILED,
                f"rollback decision ({decided.tier}): " + ", ".join(decided.causes),
            )
        elif short := _coverage(ctx, started, time.time()):
            status, reason = PhaseStatus.FAILED, short
        metrics = period_metrics(
            ctx.plan, read_run_samples(ctx.run_dir), max(started, ctx.deploy_at or started)
        )
    if kind is PhaseKind.SUCCESS:
        metrics, gate = _success(ctx, [i for i in items if i.check == "signoff"])
        _announce(ctx, gate, "launch_declared", "LAUNCH DECLARED", "LAUNCH NOT DECLARED")
    checks |= run_item_checks(
        ctx, watched + [i for i in items if i.check == "signoff" and kind is not PhaseKind.SUCCESS]
    )
    if kind is PhaseKind.GATE:
        g = go_no_go(ctx.plan, ctx.ledger)
        gate = g.to_record()
        _announce(ctx, gate, "go_no_go", "GO", "NO-GO")
        if not g.go:
            status, reason = PhaseStatus.FAILED, "NO-GO: " + "; ".join(g.reasons())
    elif kind is PhaseKind.REVIEW:
        extra = review(ctx).to_extra()
    result_items = _items(ctx, checks)
    if status is PhaseStatus.PASSED and any(i.required and not i.satisfied for i in result_items):
        open_ = [i.item for i in result_items if i.required and not i.satisfied]
        status, reason = PhaseStatus.FAILED, "open items: " + ", ".join(open_)
    return PhaseResult(
        phase=ctx.phase,
        status=status,
        reason=reason,
        items=result_items,
        metrics=metrics,
        decisions=_firings(ctx, started),
        gate=gate,
        started=started,
        finished=time.time(),
        extra=extra,
    )
