"""After a rollback: does the restored release perform as it did before the launch?

The plan's post-rollback check "performance metrics acceptable" is judged here, class by class,
against the same release's samples before the deploy (the canary judge: Mann-Whitney U, effect
size, failure rates) rather than against the launch's absolute criteria: a p95 of the 25 trading
requests a short load test makes is one slow request, and whatever slows the host slowed the
baseline alike. A latency is worse only when its median rose past the plan's own bar for a
slowdown (its degradation trigger's ratio and ``min_change_ms``).

The samples judged are the monitor's own when a monitor watches the run: the last
``perf_s`` real seconds since the rollback completed, at the rate and from the client the
baseline was taken with. A second load test on top of the monitor would measure a service
under twice the baseline's load. Without a monitor, a short load test is judged against the
baseline; without a baseline (a phase run on its own), the absolute criteria apply. Latencies
measured while the client stalled are left out on both sides.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from launchlib.evaluation.judge import judge, overall, plan_settings
from launchlib.evaluation.metrics import stalled
from launchlib.launch.checks import absolute_performance
from launchlib.launch.context import PhaseContext
from launchlib.launch.monitor import PART_S, wait_for_samples
from launchlib.plan.model import Item
from launchlib.probing.probes import CheckResult
from launchlib.probing.sampler import sample
from launchlib.runfolder.events import Event, event_time, read_run_samples
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.status import read_status

__all__ = ["performance_as_before"]

MIN_BASELINE = 200  # samples before the deploy for a comparison to mean something


def _monitor_watching(ctx: PhaseContext) -> bool:
    status = read_status(RunFolder(ctx.run_dir).monitor_file)
    fresh = status is not None and time.time() - status.updated < 5.0  # a monitor that died says nothing
    return status is not None and status.state == "watching" and fresh


def _short(ctx: PhaseContext, window: pd.DataFrame) -> bool:
    """Some endpoint class has fewer answered requests in ``window`` than the judge needs, counting
    only the latencies it will judge (not those measured while the client stalled)."""
    classes = window["endpoint"].astype(str).map(ctx.plan.monitoring.endpoint_classes)
    judged = (window["status"] > 0) & window["latency_ms"].notna()
    judged &= ~stalled(window, ctx.plan.monitoring.max_client_stall_ms)
    counts = classes[judged].value_counts()
    need = plan_settings(ctx.plan).min_samples
    return any(counts.get(c, 0) < need for c in set(classes.dropna()))


def _monitor_samples(ctx: PhaseContext, span_s: float, timeout_s: float = 5.0) -> pd.DataFrame:
    """The monitor's samples of the last ``span_s`` seconds since the rollback completed, once on
    disk; all of them since the rollback when the last ``span_s`` hold too few to judge a class
    (a restart or a busy host answered fewer): a later round sees more, never less."""
    completed = event_time(ctx.run_dir, Event.ROLLBACK_COMPLETED) or time.time()
    end = max(time.time(), completed + span_s)
    time.sleep(max(0.0, end - time.time()))
    wait_for_samples(ctx.run_dir, end - 0.2, timeout_s)
    recorded = read_run_samples(ctx.run_dir, newest_parts=int((end - completed) / PART_S) + 3)
    since = recorded[(recorded["ts"] > completed) & (recorded["ts"] <= end)]
    window = since[since["ts"] > end - span_s]
    return since if _short(ctx, window) else window


_baselines: dict[tuple[str, float], pd.DataFrame] = {}


def _baseline(ctx: PhaseContext, deploy: float) -> pd.DataFrame:
    """The samples before the deploy, read once per run (the rollback rechecks every interval)."""
    key = (str(ctx.run_dir), deploy)
    if key not in _baselines:
        recorded = read_run_samples(ctx.run_dir)
        _baselines[key] = recorded[recorded["ts"] <= deploy]
    return _baselines[key]


def performance_as_before(ctx: PhaseContext, item: Item) -> CheckResult:
    """The restored release against its own samples before the launch (see the module doc)."""
    deploy = ctx.deploy_at
    base = _baseline(ctx, deploy) if deploy is not None else None
    if deploy is None or base is None or len(base) < MIN_BASELINE:
        return absolute_performance(ctx, item)
    if _monitor_watching(ctx):
        now, source = _monitor_samples(ctx, ctx.perf_s), "the monitor's"
    else:
        now, source = sample(ctx.target, ctx.load_rate, ctx.perf_s).frame(), "a load test's"
    both = pd.concat([base, now[now["ts"] > deploy]], ignore_index=True)
    both.loc[stalled(both, ctx.plan.monitoring.max_client_stall_ms), "latency_ms"] = np.nan
    verdicts = judge(ctx.plan, both, float(deploy), settings=plan_settings(ctx.plan))
    worst, score = overall(verdicts)
    failed = [v for v in verdicts if v.verdict == "fail"]
    shown = "; ".join(
        f"{v.cls} {v.metric.replace('_ms', '')} {v.baseline:.3g} → {v.candidate:.3g}" for v in failed
    )
    verdict = f"as before ({worst}, {score:.0f} % of metrics pass)"
    if failed:
        verdict = f"worse: {shown}"
    elif worst == "no data":
        verdict = "too few to compare with the baseline (no class has 20 on both sides)"
    seen = f"{len(now)} of {source} requests over {ctx.perf_s:.1f} s"
    detail = f"{seen} against {len(base)} before the launch: {verdict}"
    rows = [v.as_row() for v in verdicts]
    return CheckResult("performance", not failed and worst != "no data", detail, data={"judge": rows})
