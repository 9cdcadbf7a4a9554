"""The reference plan holds the whole seed, with numbers where the seed has thresholds."""

from __future__ import annotations

from launchlib.plan.model import KNOWN_CHECKS, Plan, Tier, phase_id
from launchlib.plan.thresholds import ConditionMetric, Op, Unit

PHASES = ["T-24h", "T-12h", "T-6h", "T-1h", "T-0", "T+5m", "T+15m", "T+30m", "T+1h", "T+24h"]


def test_reference_plan_has_all_132_items_and_ten_phases(plan: Plan) -> None:
    assert plan.checklist_count() == 132
    assert [p.id for p in plan.phases] == PHASES
    assert [p.offset_s for p in plan.phases] == [
        -86400,
        -43200,
        -21600,
        -3600,
        0,
        300,
        900,
        1800,
        3600,
        86400,
    ]
    assert all(len(p.items) == 5 for p in plan.phases)


def test_owners_follow_the_seed(plan: Plan) -> None:
    t0 = plan.phase("T-0")
    assert [i.owner for i in t0.items] == [
        "launch_commander",
        "devops_lead",
        "security_officer",
        "trading_lead",
        "risk_manager",
    ]
    assert plan.phase("T+24h").items[1].owner == "all_teams"
    assert all(i.owner is None for i in plan.phase("T-24h").items)
    assert plan.phase("T-0").items[0].text == "Execute deployment command"


def test_thresholds_are_numbers_with_units(plan: Plan) -> None:
    th = {i.threshold.metric: i.threshold for _, items in plan.item_lists() for i in items if i.threshold}
    assert (th["p95_latency_ms"].op, th["p95_latency_ms"].value, th["p95_latency_ms"].unit) == (
        Op.LT,
        200,
        Unit.MS,
    )
    assert th["error_rate"].value == 0.01 and th["error_rate"].unit is Unit.RATIO
    assert th["uptime"].op is Op.GT and th["uptime"].value == 0.999
    assert th["trading_execution_ms"].value == 50
    assert th["risk_calculation_ms"].value == 100
    assert th["data_processing_ms"].value == 5000
    assert str(th["p95_latency_ms"]) == "p95_latency_ms < 200"


def test_trigger_tiers_and_conditions(plan: Plan) -> None:
    tiers = {t.id: t for t in plan.rollback.tiers}
    assert [t.id for t in plan.rollback.tiers] == [Tier.IMMEDIATE, Tier.FAST, Tier.CONTROLLED]
    assert (tiers[Tier.IMMEDIATE].from_s, tiers[Tier.IMMEDIATE].until_s) == (0, 300)
    assert [t.deadline_s for t in plan.rollback.tiers] == [300, 900, 3600]
    trig = {t.id: (tier.id, t.condition) for tier, t in plan.triggers()}
    assert set(trig) == {
        "unavailable",
        "security_breach",
        "critical_trading_failure",
        "data_integrity",
        "performance_degradation",
        "api_latency",
        "error_rate",
        "trading_errors",
        "risk_failures",
        "security_alerts",
        "performance_issues",
        "minor_functionality",
        "monitoring_gap",
        "documentation_issues",
    }
    assert trig["api_latency"][1].threshold == 500 and trig["api_latency"][0] is Tier.FAST
    assert trig["error_rate"][1].threshold == 0.05
    assert trig["performance_degradation"][1].metric is ConditionMetric.LATENCY_P95_DEGRADATION
    assert trig["performance_degradation"][1].threshold == 0.5
    assert trig["data_integrity"][1].status == 409
    assert trig["security_alerts"][1].metric is ConditionMetric.EVENT
    assert trig["documentation_issues"][1].metric is ConditionMetric.MANUAL


def test_every_check_named_is_known(plan: Plan) -> None:
    named = {i.check for _, items in plan.item_lists() for i in items if i.check}
    assert named <= set(KNOWN_CHECKS)
    assert {"health", "backup_restore", "smoke", "signoff", "metrics"} <= named


def test_procedures_escalation_and_incidents(plan: Plan) -> None:
    procs = {p.id: p for p in plan.rollback.procedures}
    assert set(procs) == {"emergency", "controlled", "database"}
    assert procs["emergency"].commands[0].startswith("git tag prod-rollback-")
    assert any("pg_dump" in c for c in procs["database"].commands)
    assert plan.escalation[2].chain() == ["Trading Lead", "Risk Manager", "CTO"]
    assert plan.role("CTO").id == "launch_commander"
    assert [c.response_s for c in plan.incidents.classes] == [0, 3600, 14400]
    assert [s.number for s in plan.incidents.procedure] == [1, 2, 3, 4]


def test_phase_id_reads_seed_labels() -> None:
    assert phase_id("T-24 Hours") == ("T-24h", -86400)
    assert phase_id("T+5 Minutes: Initial Verification") == ("T+5m", 300)
    assert phase_id("T-0: Launch Execution") == ("T-0", 0)
    assert phase_id("T+5min") == ("T+5m", 300)
    assert phase_id("Rollback") is None


def test_digest_changes_with_the_plan(plan: Plan) -> None:
    other = plan.model_copy(update={"metadata": plan.metadata.model_copy(update={"version": "2"})})
    assert plan.digest() != other.digest()
    assert len(plan.digest()) == 64
