"""What a plan's items may name: the automated checks and the success metrics the kit can run.

The plan validator reads these names (the plan layer cannot import the checks themselves);
:mod:`launchlib.launch.checks` registers one check per name and fails at import on any other.
"""

from __future__ import annotations

__all__ = ["KNOWN_CHECKS", "KNOWN_METRICS"]

#: Automated checks an item may name, with what each verifies.
KNOWN_CHECKS: dict[str, str] = {
    "health": "every component of the target reports healthy",
    "backup_restore": "database backup taken, restored into a scratch database and compared",
    "notify": "notification channel answers a test message",
    "rollback_drill": "deploy and roll back on the simulator; the previous release is restored",
    "security": "admin API refuses requests without a token and accepts a valid one",
    "performance": "a short load test meets the launch success criteria",
    "deploy_ready": "the candidate release is available to the deployment backend",
    "monitoring": "metrics are reachable (Prometheus when configured, else /metrics)",
    "alerts": "an alert raised on purpose reaches the trigger engine",
    "deploy": "the candidate release is deployed",
    "deploy_progress": "the deployment comes up and serves the candidate release",
    "smoke": "automated smoke tests of every endpoint pass",
    "trading_smoke": "an order is placed and cancelled",
    "risk_smoke": "a risk calculation answers within its target",
    "security_smoke": "security validation: unauthenticated admin refused, token accepted",
    "version": "the running release is the expected one",
    "database": "the database answers and its integrity check passes",
    "integrity": "positions and ledger agree",
    "triggers": "the rollback-trigger engine watches the target and none has fired",
    "metrics": "a threshold on the monitored metrics holds",
    "signoff": "every required item of the phase is done or waived in the sign-off ledger",
    "release_tag": "the candidate's release tag exists in the git repository (environment.repository)",
    "dns": "the target's host and environment.hostnames resolve",
    "tls_certificate": "the TLS certificate of the target (https) and environment.tls_endpoints is "
    "trusted and valid for at least environment.tls_min_days",
    "disk_space": "free disk on the Docker host, the run folder and environment.disk_paths is at "
    "least environment.min_free_disk_gb",
    "prometheus_targets": "every target Prometheus scrapes is up",
}


#: Success metrics the kit can measure from samples (``check: metrics`` items name one of these).
KNOWN_METRICS: dict[str, str] = {
    "p95_latency_ms": "p95 latency of answered API, trading and risk calls",
    "p99_latency_ms": "p99 latency of answered API, trading and risk calls",
    "error_rate": "share of API, trading and risk calls that failed (no answer or 5xx)",
    "availability": "share of API, trading and risk calls that did not fail",
    "uptime": "share of /health calls that did not fail",
    "trading_execution_ms": "p95 time the service took for orders (its own timing, else the latency seen)",
    "risk_calculation_ms": "p95 time the service took for risk calculations (likewise)",
}
