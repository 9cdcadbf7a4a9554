"""Which telemetry judges a launch: the kit's own probe (``samples``) or Prometheus (``prometheus``).

One place decides, for ``rehearse``, ``run-phase``, ``monitor`` and their dry runs, whether a
Prometheus source can be used: the URL answers, it parses the plan's queries, it knows the
metrics they name. Against the embedded simulator the kit may start its own Prometheus (the
simulator's metric names are known, so the plan's are checked without one). Each problem is one
line naming the option or the plan field.
"""

from __future__ import annotations

from pathlib import Path

from launchlib.errors import LaunchError, PlanError, Problem
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.plan.model import Plan
from launchlib.plan.promql import PLACEHOLDERS, metric_names, render
from launchlib.probing.prometheus_process import PrometheusProcess, prometheus_binary
from launchlib.simulator.app import EXPORTED_METRICS

__all__ = ["SOURCES", "monitor_source", "own_prometheus", "source_problems"]

SOURCES = ("samples", "prometheus")


def source_problems(
    plan: Plan, plan_file: str, source: str, prometheus_url: str, *, own: bool, embedded: bool
) -> list[Problem]:
    """Every reason ``source`` cannot judge this run. ``own``: the kit may start its own
    Prometheus when no URL is given (a rehearsal); ``embedded``: the target is the simulator."""
    if source not in SOURCES:
        return [Problem("--source", source, f"one of {', '.join(SOURCES)}")]
    if source == "samples":
        return []
    if prometheus_url:
        try:
            PrometheusSource(prometheus_url, plan, timeout_s=3.0).check(plan_file)
        except PlanError as exc:
            return exc.problems
        except LaunchError as exc:
            return [Problem("--prometheus", prometheus_url, str(exc))]
        return []
    if not own:
        return [
            Problem("--prometheus", "", "--source prometheus needs the URL of the Prometheus to judge from")
        ]
    problems = []
    try:
        prometheus_binary()
    except LaunchError as exc:
        problems.append(Problem("--source", source, str(exc)))
    if embedded:
        q = plan.monitoring.prometheus
        for key, template in (("requests", q.requests), ("latency_quantile", q.latency_quantile)):
            for name in sorted(metric_names(render(template, **PLACEHOLDERS[key])) - EXPORTED_METRICS):
                why = (
                    f"metric {name} is not one the simulator exports ({', '.join(sorted(EXPORTED_METRICS))})"
                )
                problems.append(Problem(plan_file, f"monitoring.prometheus.{key}", why))
    return problems


def own_prometheus(plan: Plan, target_url: str, run_dir: Path) -> PrometheusProcess:
    """Start the kit's Prometheus scraping ``target_url``, its data in the run folder."""
    scrape = plan.monitoring.prometheus.scrape_interval_s
    return PrometheusProcess(target_url, Path(run_dir) / "prometheus", scrape_s=scrape).start()


def monitor_source(plan: Plan, source: str, prometheus_url: str) -> PrometheusSource | None:
    """The source a monitor judges from (None: its own samples)."""
    if source != "prometheus":
        return None
    return PrometheusSource(prometheus_url, plan, timeout_s=2.0)
