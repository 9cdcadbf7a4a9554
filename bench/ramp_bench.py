"""Detection lag of latency ramps: when the plan's triggers fire against when the ramp crosses
their bar (what the scorecard now derives, :mod:`launchlib.report.ramps`).

Run: .venv/bin/python bench/ramp_bench.py
Synthetic samples at 50 requests/s (the launch clock at 1×), a 10-minute baseline, then the API
endpoints slowed by a ramp of +400 ms over several spans (steeper to shallower); the reference
plan's triggers judge them as the monitor would. Prints, per slope, the derived crossing, the
first latency firing and the lag between them (launch seconds), and which trigger fired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlib.evaluation.triggers import evaluate
from launchlib.plan.files import load_plan
from launchlib.plan.locations import kit_path
from launchlib.probing.synth import Paint, synthetic_samples
from launchlib.report.ramps import ramp_detectable_at
from launchlib.simulator.scenarios import Scenario

RATE, BASELINE_S, STEP_S, RAMP_MS = 50.0, 600.0, 5.0, 400.0
API = ("/api/market", "/api/orders", "/api/risk")


def _ramp(span_s: float, tail_s: float) -> pd.DataFrame:
    """Baseline, then +RAMP_MS over ``span_s`` in STEP_S steps, then held for ``tail_s``."""
    steps = np.arange(0.0, span_s, STEP_S)
    paints = [
        Paint(BASELINE_S + s, BASELINE_S + s + STEP_S, API, add_ms=RAMP_MS * (s + STEP_S / 2) / span_s)
        for s in steps
    ]
    paints.append(Paint(BASELINE_S + span_s, BASELINE_S + span_s + tail_s, API, add_ms=RAMP_MS))
    return synthetic_samples(BASELINE_S + span_s + tail_s, RATE, paints)


def main() -> None:
    plan = load_plan(kit_path("parameters/plan.yaml"))
    classes = plan.monitoring.endpoint_classes
    print(f"{'ramp':>22} {'crosses at':>11} {'fired at':>9} {'lag s':>6}  trigger")
    for span in (300.0, 900.0, 1800.0, 3600.0):
        df = _ramp(span, 300.0)
        base = df[df["ts"] < BASELINE_S]
        cls = base["endpoint"].map(classes)

        def baseline_ms(of: tuple[str, ...], base: pd.DataFrame = base, cls: pd.Series = cls) -> float:
            return float(base.loc[cls.isin(of), "latency_ms"].quantile(0.95))

        fault = {
            "kind": "latency",
            "binding": "release",
            "start_s": 0,
            "end_s": span,
            "endpoints": ["/api/"],
            "ramp_to_ms": RAMP_MS,
        }
        sc = Scenario.model_validate(
            {"name": "ramp", "faults": [fault], "expect": {"rollback": True, "tier": "immediate"}}
        )
        found = ramp_detectable_at(plan, sc, baseline_ms)
        decision, _ = evaluate(plan, df, BASELINE_S)
        first = min(decision.triggers, key=lambda f: f.first_at, default=None)
        fired = None if first is None else first.first_at - BASELINE_S
        crosses = None if found is None else found.launch_s
        lag = None if fired is None or crosses is None else fired - crosses
        name = f"+{RAMP_MS:.0f} ms over {span:.0f} s"
        print(
            f"{name:>22} {crosses or float('nan'):>11.0f} {fired or float('nan'):>9.0f} "
            f"{lag if lag is not None else float('nan'):>6.0f}  {first.id if first else '-'}"
        )


if __name__ == "__main__":
    main()
