"""The automated checks a plan item can name (``check: health``), run against a phase context.

Each check is one function ``(ctx, item) -> CheckResult``, registered under the name the plan
uses (:data:`launchlib.plan.model.KNOWN_CHECKS`); :func:`run_item_checks` runs a phase's checks and
records each result in the sign-off ledger, so gates and widgets see them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from launchlib.backends.simulated import SimDeployer
from launchlib.errors import LaunchError, TargetError
from launchlib.evaluation.metrics import stalled
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.evaluation.success import judge_until_settled, period_metrics
from launchlib.evaluation.triggers import evaluate
from launchlib.launch.context import PhaseContext
from launchlib.plan.model import KNOWN_CHECKS, Item, Plan
from launchlib.probing import probes, world
from launchlib.probing.probes import CheckResult
from launchlib.probing.sampler import sample
from launchlib.probing.synth import Paint, synthetic_samples
from launchlib.probing.target import Target
from launchlib.runfolder.events import Event, event_time, read_run_samples
from launchlib.runfolder.records import FiringRecord, read_decisions
from launchlib.signoff.gates import evaluate_gate
from launchlib.signoff.rules import record_check
from launchlib.simulator.app import SimConfig
from launchlib.simulator.server import SimServer

__all__ = ["CHECKS", "absolute_performance", "registers", "rollback_drill", "run_check", "run_item_checks"]

Check = Callable[[PhaseContext, Item], CheckResult]
CHECKS: dict[str, Check] = {}


def registers(*names: str) -> Callable[[Check], Check]:
    """Register a check under the names a plan's items use. The names and what each verifies are
    the plan's vocabulary (:data:`~launchlib.plan.model.KNOWN_CHECKS`, which the validator reads;
    the plan layer cannot import this one): a name outside it fails at import."""

    def register(fn: Check) -> Check:
        for name in names:
            if name not in KNOWN_CHECKS:
                raise ValueError(f"check {name!r} is not in launchlib.plan.model.KNOWN_CHECKS")
            CHECKS[name] = fn
        return fn

    return register


@registers("health")
def _health(ctx: PhaseContext, item: Item) -> CheckResult:
    """The target's /health; on a docker target also every container of the project running."""
    res = probes.check_health(ctx.target)
    if not ctx.docker_project:
        return res
    # heavy and optional: the docker SDK is loaded only for a compose project
    from launchlib.backends.docker import DockerDeployer

    dep = ctx.deployer
    assert isinstance(dep, DockerDeployer)
    rows = dep.containers()
    bad = [
        f"{r['name']} {r['status']}/{r['health']}"
        for r in rows
        if r["status"] != "running" or r["health"] == "unhealthy"
    ]
    detail = f"{res.detail}; containers: " + (", ".join(bad) if bad else f"all {len(rows)} running")
    return CheckResult("health", res.passed and not bad, detail, data={"containers": rows})


@registers("backup_restore")
def _backup(ctx: PhaseContext, item: Item) -> CheckResult:
    b = ctx.database.verify_backup()
    return CheckResult("backup_restore", b.ok, b.detail, data={"backup_id": b.backup_id})


@registers("notify")
def _notify(ctx: PhaseContext, item: Item) -> CheckResult:
    sent = ctx.notify(
        ["launch_commander"], f"{ctx.phase}: notification channel test", kind="test", title="TEST", wait=True
    )
    return CheckResult("notify", sent.delivered > 0, f"test message {sent.detail}")


@registers("rollback_drill")
def _drill(ctx: PhaseContext, item: Item) -> CheckResult:
    """The drill runs on a throwaway simulator; it counts only when the real target is the service
    the drill stands for (it answers ``/version`` with one of the plan's releases)."""
    running = probes.check_version(ctx.target, ctx.plan.releases.previous)
    releases = {ctx.plan.releases.previous, ctx.plan.releases.candidate}
    if running.data.get("release") not in releases:
        return CheckResult(
            "rollback_drill", False, f"not drilled: the target is not the service ({running.detail})"
        )
    return rollback_drill(ctx.plan)


def rollback_drill(plan: Plan) -> CheckResult:
    """Deploy and roll back on a throwaway simulator: the previous release must come back."""
    started = time.perf_counter()
    cfg = SimConfig(previous=plan.releases.previous, candidate=plan.releases.candidate, restart_s=0.05)
    with SimServer("127.0.0.1", 0, cfg) as server:
        dep = SimDeployer(Target(server.url))
        dep.deploy(plan.releases.candidate)
        dep.wait_serving(plan.releases.candidate, 5.0)
        dep.rollback("controlled")
        dep.wait_serving(plan.releases.previous, 5.0)
        ok = probes.check_version(Target(server.url), plan.releases.previous)
    ms = (time.perf_counter() - started) * 1000.0
    return CheckResult(
        "rollback_drill",
        ok.passed,
        f"drill on simulator: deploy + controlled rollback; {ok.detail}",
        duration_ms=ms,
    )


#: how many load-test rounds a verdict near its threshold may take before it is given as measured
PERF_ROUNDS = 4


@registers("performance")
def absolute_performance(ctx: PhaseContext, item: Item) -> CheckResult:
    """A short load test held to the launch's success criteria.

    A quantile near its threshold (a p95 of 50 calls, two of them slow) is not decided by one
    round: the test takes another round of ``perf_s``, up to :data:`PERF_ROUNDS`, and judges the
    samples together, so a healthy service is not called slow on a coin toss, nor a slow one
    healthy.
    """
    frame, crit, rounds = judge_until_settled(
        ctx.plan, lambda: sample(ctx.target, ctx.load_rate, ctx.perf_s).frame(), PERF_ROUNDS
    )
    bad = [c for c in crit if c.passed is False]
    limit = ctx.plan.monitoring.max_client_stall_ms
    held = int(stalled(frame, limit).sum())
    if held * 2 > len(frame):  # the client, not the service, was measured: no verdict either way
        return CheckResult(
            "performance",
            False,
            f"not measured: the load-test client stalled > {limit:g} ms on {held} of {len(frame)} requests",
        )
    unknown = [c.id for c in crit if c.passed is None]
    took = f"{rounds} rounds of {ctx.perf_s:.1f} s" if rounds > 1 else f"{ctx.perf_s:.1f} s"
    detail = f"{len(frame)} requests in {took}: " + (
        "; ".join(f"{c.text} is {c.value:.4g}" for c in bad) if bad else "every criterion met"
    )
    near = [c.id for c in crit if not c.settled]
    if rounds > 1:
        detail += " (a verdict near its threshold took more rounds"
        detail += f"; still near it: {', '.join(near)})" if near else ")"
    if unknown:
        detail += f" (not measurable here: {', '.join(unknown)})"
    return CheckResult(
        "performance", not bad, detail, data={"criteria": [c.to_dict() for c in crit], "rounds": rounds}
    )


@registers("deploy_ready")
def _deploy_ready(ctx: PhaseContext, item: Item) -> CheckResult:
    have = ctx.deployer.releases()
    want = ctx.plan.releases.candidate
    ok = want in have.values()
    return CheckResult("deploy_ready", ok, f"candidate {want!r} {'available' if ok else 'missing'}: {have}")


@registers("monitoring")
def _monitoring(ctx: PhaseContext, item: Item) -> CheckResult:
    url = f"{ctx.prometheus_url}/-/ready" if ctx.prometheus_url else f"{ctx.target.base_url}/metrics"
    try:
        r = httpx.get(url, timeout=ctx.target.timeout_s)
    except httpx.HTTPError as exc:
        return CheckResult("monitoring", False, f"{url}: {type(exc).__name__}")
    ok = r.status_code == 200 and (bool(ctx.prometheus_url) or "# TYPE" in r.text)
    if not ok or not ctx.prometheus_url:
        return CheckResult("monitoring", ok, f"{url} answered {r.status_code}")
    try:  # Prometheus answers: do the plan's queries find the service's series?
        empty = PrometheusSource(ctx.prometheus_url, ctx.plan, timeout_s=ctx.target.timeout_s).empty_queries()
    except TargetError as exc:
        return CheckResult("monitoring", False, str(exc))
    if empty:
        return CheckResult(
            "monitoring", False, f"query returned no series: {empty[0]}", data={"empty": empty}
        )
    return CheckResult("monitoring", True, f"{ctx.prometheus_url}: the plan's queries find series")


@registers("alerts")
def _alerts(ctx: PhaseContext, item: Item) -> CheckResult:
    """Raise an alert on purpose: a synthetic outage must make the trigger engine decide rollback."""
    t0 = time.time()
    df = synthetic_samples(120.0, 50.0, [Paint(60.0, 120.0, status=503)], t0=t0)
    d, _ = evaluate(ctx.plan, df, deploy_at=t0 + 30.0)
    ok = d.decision == "rollback"
    fired = ", ".join(f.id for f in d.triggers) or "nothing"
    return CheckResult("alerts", ok, f"synthetic outage raised: {fired} fired, decision {d.decision}")


@registers("deploy")
def _deployed(ctx: PhaseContext, item: Item) -> CheckResult:
    at = event_time(ctx.run_dir, Event.DEPLOYED)
    return CheckResult("deploy", at is not None, "candidate deployed" if at else "no deploy recorded")


@registers("deploy_progress", "version")
def _expected_version(ctx: PhaseContext, item: Item) -> CheckResult:
    return probes.check_version(ctx.target, ctx.expected_release)


@registers("database", "integrity")
def _integrity(ctx: PhaseContext, item: Item) -> CheckResult:
    try:
        r = httpx.get(f"{ctx.target.base_url}/api/integrity", timeout=ctx.target.timeout_s)
    except httpx.HTTPError as exc:
        return CheckResult(item.check or "database", False, f"/api/integrity: {type(exc).__name__}")
    ok = r.status_code == 200 and probes.json_body(r, "status", "digest") is not None
    shape = "" if ok or r.status_code != 200 else " without the integrity report (not the service?)"
    return CheckResult(item.check or "database", ok, f"/api/integrity answered {r.status_code}{shape}")


@registers("triggers")
def _triggers(ctx: PhaseContext, item: Item) -> CheckResult:
    fired = [r for r in read_decisions(ctx.run_dir) if isinstance(r, FiringRecord)]
    names = ", ".join(f"{r.id} ({r.tier})" for r in fired)
    return CheckResult("triggers", not fired, f"fired: {names}" if fired else "no rollback trigger fired")


@registers("metrics")
def _metrics(ctx: PhaseContext, item: Item) -> CheckResult:
    th = item.threshold
    if th is None:
        return CheckResult("metrics", False, f"{item.id} has no threshold")
    deploy_at = event_time(ctx.run_dir, Event.DEPLOYED)
    v = period_metrics(ctx.plan, read_run_samples(ctx.run_dir), deploy_at).get(th.metric)
    if v is None:
        return CheckResult("metrics", False, f"{th.metric}: no data")
    return CheckResult(
        "metrics", bool(th.holds(v)), f"{th.metric} = {v:.4g} (target {th.op.value} {th.value:g})", value=v
    )


@registers("signoff")
def _signoff(ctx: PhaseContext, item: Item) -> CheckResult:
    gate = evaluate_gate(
        ctx.plan, ctx.ledger, [ctx.phase], name=ctx.phase, exclude=[f"{ctx.phase}/{item.id}"]
    )
    detail = "every other required item satisfied" if gate.go else "open: " + "; ".join(gate.reasons())
    return CheckResult("signoff", gate.go, detail)


def _probe_of_target(probe: Callable[[Target], CheckResult]) -> Check:
    """A check that is one probe of the target, whatever the item."""
    return lambda ctx, item: probe(ctx.target)


registers("security", "security_smoke")(_probe_of_target(probes.check_security))
registers("smoke")(_probe_of_target(probes.check_smoke))
registers("trading_smoke")(_probe_of_target(probes.check_trading))
registers("risk_smoke")(_probe_of_target(probes.check_risk))


@registers("release_tag")
def _release_tag(ctx: PhaseContext, item: Item) -> CheckResult:
    env = ctx.plan.environment
    res = world.check_release_tag(env.git_repository(), ctx.plan.releases.candidate)
    if env.repository_env and not env.git_repository():
        res.detail = f"not checked: environment variable {env.repository_env} is not set"
    return res


@registers("dns")
def _dns(ctx: PhaseContext, item: Item) -> CheckResult:
    host = urlsplit(ctx.target.base_url).hostname
    return world.check_dns([*([host] if host else []), *ctx.plan.environment.hostnames])


@registers("tls_certificate")
def _tls(ctx: PhaseContext, item: Item) -> CheckResult:
    env, url = ctx.plan.environment, urlsplit(ctx.target.base_url)
    endpoints = [(url.hostname, url.port or 443)] if url.scheme == "https" and url.hostname else []
    endpoints += [(h, int(p)) for h, _, p in (ep.rpartition(":") for ep in env.tls_endpoints)]
    return world.check_tls(endpoints, env.tls_min_days, env.tls_ca_file)


@registers("disk_space")
def _disk(ctx: PhaseContext, item: Item) -> CheckResult:
    """The Docker host's data root (when the daemon is on this machine), the run folder, and the
    plan's own paths. A remote Docker host's disk cannot be read through the Engine API: said."""
    paths: dict[str, str | Path] = {"run folder": ctx.run_dir}
    paths.update({p: p for p in ctx.plan.environment.disk_paths})
    remote = ""
    if ctx.docker_project:
        from launchlib.backends.docker import DockerDeployer  # heavy and optional: the docker SDK

        assert isinstance(ctx.deployer, DockerDeployer)
        root = ctx.deployer.client.info().get("DockerRootDir", "")
        if root and Path(root).is_dir():
            paths["docker host"] = root
        else:
            remote = f"; docker host {root or '?'}: not on this machine, not measured"
    res = world.check_free_disk(paths, ctx.plan.environment.min_free_disk_gb)
    if remote:
        res.detail, res.passed = res.detail + remote, False
    return res


@registers("prometheus_targets")
def _prometheus_targets(ctx: PhaseContext, item: Item) -> CheckResult:
    return world.check_prometheus_targets(ctx.prometheus_url)


def run_check(ctx: PhaseContext, item: Item, check: Check | None = None) -> CheckResult:
    """Run one item's check (or ``check`` in its place); a check that cannot run is a failed
    check, with the reason."""
    assert item.check is not None
    started = time.perf_counter()
    try:
        res = (check or CHECKS[item.check])(ctx, item)
    except (LaunchError, httpx.HTTPError, OSError, ValueError) as exc:  # ValueError: an answer not JSON
        res = CheckResult(item.check, False, f"could not run: {exc}")
    if not res.duration_ms:
        res.duration_ms = (time.perf_counter() - started) * 1000.0
    return res


def run_item_checks(ctx: PhaseContext, items: list[Item], phase: str | None = None) -> dict[str, CheckResult]:
    """Run the checks of ``items`` (``signoff`` checks last) and record each in the ledger."""
    out: dict[str, CheckResult] = {}
    for it in sorted((i for i in items if i.check), key=lambda i: i.check == "signoff"):
        res = run_check(ctx, it)
        record_check(ctx.ledger, phase or ctx.phase, it.id, res.passed, res.detail)
        out[it.id] = res
    return out
