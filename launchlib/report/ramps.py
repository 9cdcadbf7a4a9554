"""When a latency ramp becomes detectable: the launch second it crosses the plan's own bar.

A ramp starts below every threshold, so a tier's deadline counted from its onset would blame the
plan for minutes nobody could have seen anything. The scenario says how fast the extra latency
grows; the plan says what it takes to fire: an absolute p95 threshold, or a degradation ratio over
the baseline p95 together with its ``min_change_ms``. The earliest launch second at which the
ramp's extra latency meets one of those bars, on a trigger watching the endpoints it slows, is
when the deadline starts. A scenario's own ``expect.detectable_at_s`` still wins.

The model: the ramp adds ``latency_ms + ramp_to_ms × (t - start) / span`` to the affected
endpoints; a p95 of a trigger's classes moves by that amount once the slowed share of its
requests is above 5 % (a fault slowing fewer never moves a p95, and is not derived).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from launchlib.plan.model import Plan, Trigger
from launchlib.plan.thresholds import ConditionMetric as CM
from launchlib.simulator.scenarios import Fault, FaultKind, Scenario

__all__ = ["Detectable", "ramp_detectable_at"]

P95_SHARE = 0.05  # below this share of slowed requests a p95 does not move
DEFAULT_SPAN_S = 600.0  # the simulator's ramp length when the fault has no end


@dataclass(frozen=True)
class Detectable:
    """The launch second a ramp crosses ``trigger``'s bar, and the bar in words."""

    launch_s: float
    trigger: str
    why: str


def _needed_ms(trig: Trigger, baseline_ms: float) -> tuple[float, str] | None:
    """Extra p95 (ms) the trigger needs over the baseline, and the bar in words."""
    c = trig.condition
    if c.threshold is None or c.op is None or c.op.value not in (">", ">="):
        return None
    if c.metric is CM.LATENCY_P95_MS:
        if c.threshold <= baseline_ms:  # true before any fault: not what the ramp makes visible
            return None
        return (
            c.threshold - baseline_ms,
            f"p95 {c.op.value} {c.threshold:g} ms over a {baseline_ms:.0f}-ms baseline",
        )
    if c.metric is CM.LATENCY_P95_DEGRADATION:
        need = max(c.threshold * baseline_ms, c.min_change_ms or 0.0)
        return need, f"+{need:.0f} ms over the {baseline_ms:.0f}-ms baseline p95"
    return None


def _crossing(f: Fault, need_ms: float) -> float | None:
    """Launch second at which the fault's extra latency reaches ``need_ms`` (``None``: never)."""
    span = (f.end_s - f.start_s) if f.end_s is not None else DEFAULT_SPAN_S
    ramp_need = need_ms - f.latency_ms
    if ramp_need <= 0:
        return f.start_s
    if ramp_need > f.ramp_to_ms:
        return None
    return f.start_s + span * ramp_need / f.ramp_to_ms


def ramp_detectable_at(
    plan: Plan, scenario: Scenario, baseline_ms: Callable[[tuple[str, ...]], float | None]
) -> Detectable | None:
    """The earliest crossing of a latency ramp of ``scenario`` over a latency trigger of ``plan``;
    ``baseline_ms(classes)`` is the pre-deploy p95 of those endpoint classes. ``None``: no ramp."""
    best: Detectable | None = None
    paths = plan.monitoring.endpoint_classes
    for f in scenario.faults:
        if f.kind is not FaultKind.LATENCY or not f.ramp_to_ms or f.share < P95_SHARE:
            continue
        slowed = {cls for path, cls in paths.items() if not f.endpoints or path.startswith(f.endpoints)}
        for _, trig in plan.triggers():
            if not slowed & set(trig.condition.classes):
                continue
            base = baseline_ms(tuple(trig.condition.classes))
            bar = None if base is None else _needed_ms(trig, base)
            at = None if bar is None else _crossing(f, bar[0])
            if at is not None and (best is None or at < best.launch_s):
                best = Detectable(at, trig.id, f"the ramp reaches {trig.id}'s bar ({bar[1]})")  # type: ignore[index]
    return best
