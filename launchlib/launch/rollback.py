"""Rollback: choose the procedure, execute it, verify it, tell the people who must know.

The procedure follows the decision's tier (immediate → emergency, otherwise controlled) plus a
database rollback when data integrity failed. Post-rollback checks are the plan's, preceded by
the one that matters most: the running release really is the previous one. When an emergency
rollback leaves the wrong release running (the seed's emergency commands re-tag the *current*
release), that is caught and the controlled procedure follows.
"""

from __future__ import annotations

import time

from launchlib.errors import TargetError
from launchlib.launch.checks import run_check
from launchlib.launch.context import PhaseContext
from launchlib.launch.recovery import performance_as_before
from launchlib.plan.model import Item, Plan, Procedure, ProcedureKind
from launchlib.probing.probes import CheckResult, check_version
from launchlib.report.explain import explain_firing
from launchlib.runfolder.clock import LaunchClock
from launchlib.runfolder.events import Event, record_event
from launchlib.runfolder.records import CheckRecord, Decision, RollbackRecord
from launchlib.signoff.rules import record_check

__all__ = ["choose_procedures", "escalation_roles", "execute_rollback"]

PHASE = "rollback"


def choose_procedures(plan: Plan, decision: Decision) -> list[Procedure]:
    """The procedures the decision's causes name in the plan, in order: one release rollback (the
    decision tier's causes first), then every database restore any cause asks for."""
    triggers = {t.id: (tier.id.value, t) for tier, t in plan.triggers()}
    procs = {p.id: p for p in plan.rollback.procedures}
    causes = [triggers[c] for c in decision.causes if c in triggers]
    causes.sort(key=lambda tt: tt[0] != decision.tier)  # the deciding tier's causes first
    named = [procs[pid] for _, t in causes for pid in t.procedures if pid in procs]
    release = [p for p in named if p.kind is not ProcedureKind.DATABASE_RESTORE][:1]
    data = list({p.id: p for p in named if p.kind is ProcedureKind.DATABASE_RESTORE}.values())
    if not release:  # a cause without a release procedure: the plan's controlled rollback
        release = [p for p in plan.rollback.procedures if p.kind is ProcedureKind.CONTROLLED_RELEASE][:1]
    return release + data


def escalation_roles(plan: Plan, decision: Decision) -> tuple[str, list[str]]:
    """The incident type the first cause declares, and the escalation matrix's chain as role ids."""
    triggers = {t.id: t for _, t in plan.triggers()}
    first = next((triggers[c] for c in decision.causes if c in triggers), None)
    issue = first.incident if first else "Technical"
    chain = [r.id for r in plan.escalation_chain(issue)]
    return issue, chain


def _mode(proc: Procedure) -> str:
    """How the deployment backend switches releases for a procedure: all at once or one by one."""
    return "emergency" if proc.kind is ProcedureKind.EMERGENCY_RELEASE else "controlled"


def _post_checks(ctx: PhaseContext) -> list[tuple[Item, CheckResult]]:
    prev = ctx.plan.releases.previous
    out = [
        (
            Item(id="previous_release_running", text=f"Running release is {prev}", check="version"),
            check_version(ctx.target, prev),
        )
    ]
    for it in ctx.plan.rollback.post_checks:  # performance: as before the launch, not absolute
        out.append((it, run_check(ctx, it, performance_as_before if it.check == "performance" else None)))
    return out


def execute_rollback(ctx: PhaseContext, decision: Decision, recheck_s: float | None = None) -> RollbackRecord:
    """Run the chosen procedures against the target, verify, communicate; every step is an event.

    Steps: announce (the rollback and its evidence to the plan's roles), switch the release
    (falling back to the verified one-by-one procedure when the first leaves the wrong release
    running), restore the databases, escalate the incident, verify until green or the tier's
    deadline, and say how it ended."""
    procs = choose_procedures(ctx.plan, decision)
    out = RollbackRecord(procedures=[p.id for p in procs], tier=decision.tier, started=time.time())
    record_event(ctx.run_dir, Event.ROLLBACK_STARTED, procedures=list(out.procedures), tier=decision.tier)
    out.issue_type, chain = escalation_roles(ctx.plan, decision)
    roles = list(dict.fromkeys(chain + [c.owner for c in ctx.plan.rollback.communication if c.owner]))
    _announce_start(ctx, decision, procs, roles)
    out.notified = roles
    _switch_release(ctx, procs, out, recheck_s if recheck_s is not None else max(1.0, 60.0 / ctx.compress))
    for proc in procs:
        if proc.kind is ProcedureKind.DATABASE_RESTORE:
            record_event(ctx.run_dir, Event.DATABASE_RESTORED, procedure=proc.id, **ctx.database.restore())
            out.database_rollback = True
    out.completed = record_event(ctx.run_dir, Event.ROLLBACK_COMPLETED, procedures=out.procedures).at
    ctx.notify(  # after the switch: nothing but the rollback message stands before it
        chain,
        f"{out.issue_type} incident ({', '.join(decision.causes)}) escalated: "
        f"{' → '.join(ctx.plan.role(r).title for r in chain)}",
        kind="escalation",
        event="incident_escalated",
        title=f"INCIDENT · {out.issue_type}",
        tier=decision.tier,
    )
    _verify(ctx, decision, out)
    _announce_end(ctx, decision, out, roles)
    return out


def _announce_start(ctx: PhaseContext, decision: Decision, procs: list[Procedure], roles: list[str]) -> None:
    """The rollback, its first cause's evidence and its procedures, to the plan's roles."""
    fired = ", ".join(decision.causes)
    origin = LaunchClock.of_run(ctx.run_dir, ctx.compress).origin
    evidence = (
        explain_firing(decision.triggers[0], ctx.plan, ctx.compress, origin) if decision.triggers else fired
    )
    ctx.notify(
        roles,
        f"{evidence}; procedures {', '.join(p.id for p in procs)}",
        kind="rollback",
        event="rollback_started",
        title=f"ROLLBACK · {decision.tier} tier",
        tier=decision.tier,
    )


def _switch_release(ctx: PhaseContext, procs: list[Procedure], out: RollbackRecord, recheck_s: float) -> None:
    """The release procedure; a rollback that leaves the wrong release running is caught (an
    event) and the plan's controlled, one-by-one procedure runs once instead."""
    prev = ctx.plan.releases.previous
    controlled = next(
        (p for p in ctx.plan.rollback.procedures if p.kind is ProcedureKind.CONTROLLED_RELEASE), None
    )
    release = next((p for p in procs if p.kind is not ProcedureKind.DATABASE_RESTORE), None)
    for attempt in range(2):
        if release is None:
            return
        ctx.deployer.rollback(_mode(release))
        try:
            ctx.deployer.wait_serving(prev, timeout_s=recheck_s)
            return
        except TargetError:
            running = check_version(ctx.target, prev)
            record_event(ctx.run_dir, Event.BAD_ROLLBACK, procedure=release.id, detail=running.detail)
            if release.kind is ProcedureKind.CONTROLLED_RELEASE or attempt or controlled is None:
                return
            out.bad_rollback_caught, release = True, controlled  # the verified one-by-one path
            out.procedures.insert(1, controlled.id)


def _verify(ctx: PhaseContext, decision: Decision, out: RollbackRecord) -> None:
    """The post-rollback checks, again until green or until the tier's deadline (from the
    decision) has passed: services settle after a restart, an infrastructure fault may outlast
    the release rollback. Each round not yet green is an event; the last is recorded."""
    plan = ctx.plan
    ctx.perf_s = min(ctx.perf_s, 1.5)  # recovery is timed: a shorter load test after a rollback
    deadline_s = plan.tier(decision.tier).deadline_s if decision.tier else 300.0
    until = (decision.decided_at or out.started) + deadline_s / ctx.compress
    pause = max(0.5, plan.monitoring.interval_s / ctx.compress)
    attempts = 0
    while True:
        results, attempts = _post_checks(ctx), attempts + 1
        if all(r.passed for _, r in results) or (attempts >= 3 and time.time() + pause > until):
            break
        failing = {it.id: r.detail for it, r in results if not r.passed}
        record_event(ctx.run_dir, Event.POST_CHECKS_PENDING, round=attempts, failing=failing)
        time.sleep(pause)
    for it, r in results:
        record_check(ctx.ledger, PHASE, it.id, r.passed, r.detail)
        out.checks.append(CheckRecord(id=it.id, text=it.text, passed=r.passed, detail=r.detail))
    if all(r.passed for _, r in results):
        out.checks_green = record_event(ctx.run_dir, Event.POST_CHECKS_GREEN).at


def _announce_end(ctx: PhaseContext, decision: Decision, out: RollbackRecord, roles: list[str]) -> None:
    green = sum(c.passed for c in out.checks)
    sent = ctx.notify(
        roles,
        f"rollback complete: {ctx.plan.releases.previous} running; post-rollback checks "
        f"{'green' if out.checks_green else 'NOT green'} ({green} of {len(out.checks)} passed)",
        kind="rollback",
        event="rollback_completed",
        title="ROLLBACK COMPLETE" if out.checks_green else "ROLLBACK NOT VERIFIED",
        tier=decision.tier,
        wait=True,  # the rollback is done: the communication items record whether it was delivered
    )
    for c in ctx.plan.rollback.communication:
        record_check(ctx.ledger, PHASE, c.id, sent.delivered > 0, f"{', '.join(roles)}: {sent.detail}")
