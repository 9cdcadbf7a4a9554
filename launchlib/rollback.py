"""Rollback: choose the procedure, execute it, verify it, tell the people who must know.

The procedure follows the decision's tier (immediate → emergency, otherwise controlled) plus a
database rollback when data integrity failed. Post-rollback checks are the plan's, preceded by
the one that matters most: the running release really is the previous one. When an emergency
rollback leaves the wrong release running (the seed's emergency commands re-tag the *current*
release), that is caught and the controlled procedure follows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launchlib.errors import TargetError
from launchlib.plan import Item, Plan
from launchlib.probes import CheckResult, check_version
from launchlib.runlog import record_event
from launchlib.signoff import record_check

if TYPE_CHECKING:
    from launchlib.context import PhaseContext

__all__ = ["RollbackOutcome", "choose_procedures", "escalation_roles", "execute_rollback", "rollback_drill"]

PHASE = "rollback"
_DB_TRIGGERS = {"data_integrity"}
_ISSUE_TYPES = {
    "security": "Security",
    "trading": "Trading",
    "monitoring": "Infrastructure",
    "data": "Infrastructure",
}


def choose_procedures(plan: Plan, decision: dict[str, Any]) -> list[str]:
    """Procedure ids to run, in order: the release rollback, then the database one if needed."""
    known = {p.id for p in plan.rollback.procedures}
    release = "emergency" if decision.get("tier") == "immediate" else "controlled"
    out = [release if release in known else "controlled"]
    if {t["id"] for t in decision.get("triggers", [])} & _DB_TRIGGERS and "database" in known:
        out.append("database")
    return out


def escalation_roles(plan: Plan, decision: dict[str, Any]) -> tuple[str, list[str]]:
    """The escalation matrix's issue type for the fired triggers, and its chain as role ids."""
    first = decision.get("triggers", [{}])[0].get("id", "") if decision.get("triggers") else ""
    issue = next((v for k, v in _ISSUE_TYPES.items() if k in first), "Technical")
    row = next((e for e in plan.escalation if e.issue_type == issue), None)
    chain = [r.id for label in (row.chain() if row else []) if (r := plan.resolve_role(label)) is not None]
    return issue, chain


@dataclass
class RollbackOutcome:
    procedures: list[str]
    bad_rollback_caught: bool = False
    database_rollback: bool = False
    started: float = 0.0
    completed: float | None = None
    checks_green: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    issue_type: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _post_checks(ctx: PhaseContext) -> list[tuple[Item, CheckResult]]:
    from launchlib.checks import run_check

    prev = ctx.plan.releases.previous
    out = [
        (
            Item(id="previous_release_running", text=f"Running release is {prev}", check="version"),
            check_version(ctx.target, prev),
        )
    ]
    return out + [(it, run_check(ctx, it)) for it in ctx.plan.rollback.post_checks]


def execute_rollback(
    ctx: PhaseContext, decision: dict[str, Any], recheck_s: float | None = None
) -> RollbackOutcome:
    """Run the chosen procedures against the target, verify, communicate; every step is an event."""
    plan, prev = ctx.plan, ctx.plan.releases.previous
    procs = choose_procedures(plan, decision)
    if recheck_s is None:  # how long the previous release may take to serve: one launch minute
        recheck_s = max(1.0, 60.0 / ctx.compress)
    out = RollbackOutcome(list(procs), started=time.time())
    record_event(ctx.run_dir, "rollback_started", procedures=procs, tier=decision.get("tier"))
    out.issue_type, chain = escalation_roles(plan, decision)
    fired = ", ".join(t["id"] for t in decision.get("triggers", []))
    roles = list(dict.fromkeys(chain + [c.owner for c in plan.rollback.communication if c.owner]))
    ctx.notify(
        roles, f"ROLLBACK ({decision.get('tier')}): {fired}; procedures {', '.join(procs)}", kind="rollback"
    )
    out.notified = roles
    release_proc = procs[0]
    for attempt in range(2):
        ctx.deployer.rollback(release_proc)
        try:
            ctx.deployer.wait_serving(prev, timeout_s=recheck_s)
            break
        except TargetError:
            running = check_version(ctx.target, prev)
            record_event(ctx.run_dir, "bad_rollback", procedure=release_proc, detail=running.detail)
            if release_proc == "controlled" or attempt:
                break
            out.bad_rollback_caught, release_proc = True, "controlled"
            out.procedures.insert(1, "controlled")
    if "database" in procs:
        record_event(ctx.run_dir, "database_restored", **ctx.database.restore())
        out.database_rollback = True
    out.completed = record_event(ctx.run_dir, "rollback_completed", procedures=out.procedures)["at"]
    ctx.perf_s = min(ctx.perf_s, 1.5)  # recovery is timed: a shorter load test after a rollback
    # the services settle after a restart, and an infrastructure fault may outlast the release
    # rollback: recheck until green or until the tier's deadline (from the decision) has passed
    tier = decision.get("tier")
    deadline_s = plan.tier(tier).deadline_s if tier else 300.0
    until = float(decision.get("decided_at") or out.started) + deadline_s / ctx.compress
    pause = max(0.5, plan.monitoring.interval_s / ctx.compress)
    attempts = 0
    while True:
        results, attempts = _post_checks(ctx), attempts + 1
        if all(r.passed for _, r in results) or (attempts >= 3 and time.time() + pause > until):
            break
        time.sleep(pause)
    for it, r in results:
        record_check(ctx.ledger, PHASE, it.id, r.passed, r.detail)
        out.checks.append({"id": it.id, "text": it.text, "passed": r.passed, "detail": r.detail})
    if all(r.passed for _, r in results):
        out.checks_green = record_event(ctx.run_dir, "post_checks_green")["at"]
    sent = ctx.notify(
        roles,
        f"rollback complete: {prev} running; post-rollback checks "
        f"{'green' if out.checks_green else 'NOT green'}",
        kind="rollback",
    )
    for c in plan.rollback.communication:
        record_check(ctx.ledger, PHASE, c.id, sent.delivered > 0, f"{', '.join(roles)}: {sent.detail}")
    return out


def rollback_drill(plan: Plan) -> CheckResult:
    """Deploy and roll back on a throwaway simulator: the previous release must come back."""
    from launchlib.backends import SimDeployer
    from launchlib.sim import SimConfig
    from launchlib.simserver import SimServer
    from launchlib.target import Target

    started = time.perf_counter()
    cfg = SimConfig(previous=plan.releases.previous, candidate=plan.releases.candidate, restart_s=0.05)
    with SimServer("127.0.0.1", 0, cfg) as server:
        dep = SimDeployer(Target(server.url))
        dep.deploy(plan.releases.candidate)
        dep.wait_serving(plan.releases.candidate, 5.0)
        dep.rollback("controlled")
        dep.wait_serving(plan.releases.previous, 5.0)
        ok = check_version(Target(server.url), plan.releases.previous)
    ms = (time.perf_counter() - started) * 1000.0
    return CheckResult(
        "rollback_drill",
        ok.passed,
        f"drill on simulator: deploy + controlled rollback; {ok.detail}",
        duration_ms=ms,
    )
