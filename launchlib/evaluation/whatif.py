"""What if the triggers had been set otherwise? A run's samples replayed under a grid of variants.

Each variant scales every thresholded trigger's threshold, window and ``for`` duration (a
ratio threshold stays within [0, 1]); the recorded samples go through the same trigger engine
as the live monitor, so the ``1 × 1 × 1`` variant is the run as it was judged. The table says,
per variant, which triggers would have fired and when, the decision and its tier, and how much
earlier or later than the run's own decision it would have come.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from launchlib.evaluation.metrics import RowArrays
from launchlib.evaluation.triggers import TriggerEngine
from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric as CM

__all__ = ["Variant", "variant_grid", "variant_plan", "what_if"]

_RATIOS = (CM.SUCCESS_RATIO, CM.FAILURE_RATIO)
_UNTHRESHOLDED = (CM.EVENT, CM.MANUAL)


@dataclass(frozen=True)
class Variant:
    threshold_scale: float = 1.0
    window_scale: float = 1.0
    for_scale: float = 1.0

    @property
    def name(self) -> str:
        return (
            f"threshold ×{self.threshold_scale:g} · window ×{self.window_scale:g} · for ×{self.for_scale:g}"
        )


def variant_grid(
    thresholds: Sequence[float] = (0.8, 1.0, 1.25),
    windows: Sequence[float] = (0.5, 1.0, 2.0),
    fors: Sequence[float] = (0.5, 1.0, 2.0),
) -> list[Variant]:
    """Every combination of the scales (the run as judged, ``1 × 1 × 1``, first)."""
    grid = [Variant(t, w, f) for t, w, f in itertools.product(thresholds, windows, fors)]
    return sorted(grid, key=lambda v: (v != Variant(), grid.index(v)))


def variant_plan(plan: Plan, v: Variant) -> Plan:
    """``plan`` with every thresholded trigger scaled by ``v`` (the plan itself is untouched)."""
    mon = plan.monitoring
    tiers = []
    for tier in plan.rollback.tiers:
        triggers = []
        for trig in tier.triggers:
            c = trig.condition
            if c.metric in _UNTHRESHOLDED or c.threshold is None:
                triggers.append(trig)
                continue
            threshold = c.threshold * v.threshold_scale
            if c.metric in _RATIOS:
                threshold = min(threshold, 1.0)
            window = (c.window_s if c.window_s is not None else mon.window_s) * v.window_scale
            hold = (c.for_s if c.for_s is not None else mon.for_s) * v.for_scale
            cond = c.model_copy(update={"threshold": threshold, "window_s": window, "for_s": hold})
            triggers.append(trig.model_copy(update={"condition": cond}))
        tiers.append(tier.model_copy(update={"triggers": triggers}))
    return plan.model_copy(update={"rollback": plan.rollback.model_copy(update={"tiers": tiers})})


def what_if(
    plan: Plan,
    samples: pd.DataFrame | RowArrays,
    deploy_at: float,
    *,
    compress: float = 1.0,
    variants: Iterable[Variant] | None = None,
    until: float | None = None,
    actual_decided_at: float | None = None,
    restart_at: float | None = None,
) -> pd.DataFrame:
    """One row per variant: fired triggers (launch s after the deploy), decision, tier, shift.

    ``shift_s`` is the variant's decision minus ``actual_decided_at`` in launch seconds
    (negative: earlier); the samples are converted and binned once and shared by every variant.
    ``restart_at``: when the deploy's restart began (its answers are not the baseline's), as live.
    """
    fed = TriggerEngine(plan, deploy_at, compress=compress, restart_at=restart_at)
    rows = fed.rows(samples) if isinstance(samples, pd.DataFrame) else samples
    fed.feed(rows)
    end = until if until is not None else float(rows.ts.max()) if len(rows.ts) else deploy_at
    out = []
    for v in variants if variants is not None else variant_grid():
        engine = TriggerEngine(variant_plan(plan, v), deploy_at, compress=compress, restart_at=restart_at)
        engine.share(fed)  # the samples are binned once; a variant only re-reads the bins
        engine.advance(end)
        d = engine.decision()
        fired = {f.id: round((f.first_at - deploy_at) * compress, 1) for f in engine.fired.values()}
        decided = None if d.decided_at is None else round((d.decided_at - deploy_at) * compress, 1)
        shift = None
        if decided is not None and actual_decided_at is not None:
            shift = round(decided - (actual_decided_at - deploy_at) * compress, 1)
        out.append(
            {
                "variant": v.name,
                "threshold_scale": v.threshold_scale,
                "window_scale": v.window_scale,
                "for_scale": v.for_scale,
                "decision": d.decision,
                "tier": None if d.tier is None else str(d.tier),
                "decided_launch_s": decided,
                "shift_s": shift,
                "fired": ", ".join(f"{k} @{s:g}s" for k, s in sorted(fired.items(), key=lambda kv: kv[1])),
            }
        )
    return pd.DataFrame(out)
