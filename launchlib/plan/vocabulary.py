"""The seed plan's vocabulary: which phrases name an automated check or a trigger condition.

The Markdown importer uses these tables to turn wording such as "Verify all services
healthy" into ``check: health`` and "Error rate > 5%" into a trigger condition. A team
whose plan uses other words gets manual items, which it can enrich in its YAML.
"""

from __future__ import annotations

import re

from launchlib.plan.model import KNOWN_METRICS, Procedure, ProcedureKind, Tier
from launchlib.plan.thresholds import Condition, ConditionMetric, Threshold, slug

__all__ = ["API_CLASSES", "check_for", "trigger_for"]

API_CLASSES = ("api", "trading", "risk")

# first match wins; patterns are searched in the lower-cased item text
_CHECKS: list[tuple[str, str]] = [
    (r"backup", "backup_restore"),
    (r"communication channels tested", "notify"),
    (r"rollback (procedures rehearsed|procedure tested)", "rollback_drill"),
    (r"security validation", "security_smoke"),
    (r"security (scan|controls active|posture)|verify security status", "security"),
    (r"performance testing|performance metrics acceptable", "performance"),
    (r"deployment preparation", "deploy_ready"),
    (r"monitoring (dashboards|systems)", "monitoring"),
    (r"alert systems", "alerts"),
    (r"execute deployment", "deploy"),
    (r"deployment progress", "deploy_progress"),
    (r"smoke tests|(complete|full) system validation", "smoke"),
    (r"trading (connectivity|functionality|systems? (operational|validation))", "trading_smoke"),
    (r"risk (controls active|management (tests|active|validation))", "risk_smoke"),
    (r"database connectivity", "database"),
    (r"health|final system check", "health"),
    (r"monitor (security|trading|risk|system|metrics)", "triggers"),
    (r"tag .*prod-ready", "release_tag"),
    (r"dns", "dns"),
    (r"launch checklist review|launch success declaration", "signoff"),
]


def check_for(text: str, threshold: Threshold | None) -> str | None:
    """The automated check an item's wording names, or ``None`` for a manual item."""
    low = text.lower()
    for pattern, check in _CHECKS:
        if re.search(pattern, low):
            return check
    measurable = threshold is not None and threshold.metric in KNOWN_METRICS
    return "metrics" if measurable else None


def _cond(metric: ConditionMetric, classes: tuple[str, ...] = (), **kw: object) -> Condition:
    return Condition.model_validate({"metric": metric, "classes": classes, **kw})


_M = ConditionMetric
# (pattern, trigger id, default condition); a number in the phrase replaces the threshold
_TRIGGERS: list[tuple[str, str, Condition]] = [
    (
        r"unavailable|unresponsive",
        "unavailable",
        _cond(  # an outage is judged on a short window: immediate means within seconds
            _M.SUCCESS_RATIO,
            ("health", *API_CLASSES),
            op="<",
            threshold=0.5,
            unit="ratio",
            window_s=20,
            for_s=10,
        ),
    ),
    (
        r"security breach",
        "security_breach",
        _cond(_M.OK_COUNT, ("security",), op=">", threshold=0, unit="count"),
    ),
    (
        r"critical trading",
        "critical_trading_failure",
        _cond(_M.FAILURE_RATIO, ("trading",), op=">=", threshold=0.5, unit="ratio", window_s=20, for_s=10),
    ),
    (
        r"data integrity",
        "data_integrity",
        _cond(_M.STATUS_COUNT, ("integrity",), op=">", threshold=0, unit="count", status=409),
    ),
    (
        r"performance degradation",
        "performance_degradation",
        _cond(  # +50 % of a 50-ms p95 is noise on a busy host: also at least 100 ms more
            _M.LATENCY_P95_DEGRADATION, API_CLASSES, op=">", threshold=0.5, unit="ratio", min_change_ms=100
        ),
    ),
    (
        r"response time|latency",
        "api_latency",
        _cond(_M.LATENCY_P95_MS, API_CLASSES, op=">", threshold=500, unit="ms"),
    ),
    (r"error rate", "error_rate", _cond(_M.FAILURE_RATIO, API_CLASSES, op=">", threshold=0.05, unit="ratio")),
    (
        r"trading system errors",
        "trading_errors",
        _cond(_M.FAILURE_RATIO, ("trading",), op=">", threshold=0.01, unit="ratio"),
    ),
    (
        r"risk management failures",
        "risk_failures",
        _cond(_M.FAILURE_RATIO, ("risk",), op=">", threshold=0.01, unit="ratio"),
    ),
    (r"security alerts?", "security_alerts", _cond(_M.EVENT, event="security_alert")),
    (
        r"performance issues",
        "performance_issues",
        _cond(_M.LATENCY_P95_MS, API_CLASSES, op=">", threshold=200, unit="ms"),
    ),
    (
        r"minor functionality",
        "minor_functionality",
        _cond(_M.FAILURE_RATIO, ("api",), op=">", threshold=0.01, unit="ratio"),
    ),
    (  # the monitoring path (/health, /metrics) stops answering while the API may still answer
        r"monitoring gaps?",
        "monitoring_gap",
        _cond(_M.SINCE_LAST_SAMPLE_S, ("health",), op=">", threshold=60, unit="s"),
    ),
]


# what a trigger's wording says about its incident type (the escalation matrix's issue types)
_INCIDENTS = [
    (r"security|breach|unauthori[sz]ed", "Security"),
    (r"trading|risk|order", "Trading"),
    (r"monitoring|data|database|integrity|infrastructure|dns|network", "Infrastructure"),
]


def incident_for(text: str) -> str:
    """The escalation matrix's issue type a trigger's wording belongs to (default Technical)."""
    low = text.lower()
    return next((kind for pattern, kind in _INCIDENTS if re.search(pattern, low)), "Technical")


def procedure_kind(title: str) -> ProcedureKind:
    """What a rollback procedure acts on, from its heading (``Database Rollback`` restores data)."""
    low = title.lower()
    if "database" in low or "data" in low.split():
        return ProcedureKind.DATABASE_RESTORE
    return ProcedureKind.EMERGENCY_RELEASE if "emergency" in low else ProcedureKind.CONTROLLED_RELEASE


def procedures_for(text: str, tier: Tier, procedures: list[Procedure]) -> list[str]:
    """The procedures a trigger calls for: the tier's release rollback (emergency for the immediate
    tier, controlled otherwise), then a database restore when the trigger is about the data."""
    want = ProcedureKind.EMERGENCY_RELEASE if tier is Tier.IMMEDIATE else ProcedureKind.CONTROLLED_RELEASE
    by_kind = {p.kind: p.id for p in reversed(procedures)}
    release = by_kind.get(want) or by_kind.get(ProcedureKind.CONTROLLED_RELEASE)
    out = [release] if release else []
    if (
        re.search(r"data integrity|data loss|corrupt", text.lower())
        and ProcedureKind.DATABASE_RESTORE in by_kind
    ):
        out.append(by_kind[ProcedureKind.DATABASE_RESTORE])
    return out


def trigger_for(text: str, threshold: Threshold | None) -> tuple[str, Condition]:
    """Trigger id and condition for a trigger phrase; unknown phrases become manual triggers."""
    low = text.lower()
    for pattern, trig_id, cond in _TRIGGERS:
        if re.search(pattern, low):
            if threshold is not None and cond.op is not None:
                cond = cond.model_copy(update={"op": threshold.op, "threshold": threshold.value})
            return trig_id, cond
    return slug(text), Condition(metric=ConditionMetric.MANUAL)
