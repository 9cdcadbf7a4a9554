"""Cost of one trigger evaluation late in the launch, where the live monitor pays it.

The monitor evaluates the plan's triggers every evaluation interval (10 launch s: three times a
second at 30×) in the runner's process, which also hosts the sampler and the embedded simulator:
its time shows up as latency. This feeds a TriggerEngine the samples of a whole compressed hour
(130 real seconds at 100 requests/s, 30×), then times 20 evaluations at T+1h next to 20 at T+2m.

Run: .venv/bin/python bench/engine_bench.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from launchlib.evaluation.triggers import TriggerEngine
from launchlib.plan.files import load_plan
from launchlib.probing.synth import synthetic_samples

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0


def evaluations(plan, df, at: float) -> list[float]:  # type: ignore[no-untyped-def]
    eng = TriggerEngine(plan, T0 + 10.0, compress=30.0, lateness_s=0.3)
    upto = df[df.ts <= at]
    eng.feed(upto)
    eng.advance(at)
    rest, out = df[df.ts > at], []
    for i in range(20):
        eng.feed(rest.iloc[i * 10 : (i + 1) * 10])
        t = time.perf_counter()
        eng.advance(at + (i + 1) * 0.34)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    plan = load_plan(ROOT / "parameters/plan.yaml")
    df = synthetic_samples(140.0, 100.0, [], t0=T0)
    for label, at in (("T+2m", T0 + 14.0), ("T+1h", T0 + 128.0)):
        ms = np.array(evaluations(plan, df, at)) * 1e3
        print(f"{label}: one evaluation {np.median(ms):.1f} ms median, {ms.max():.1f} ms worst")


if __name__ == "__main__":
    main()
