"""The T+24h review: every phase's outcome so far and the scorecard, from the run folder alone."""

from __future__ import annotations

from typing import Any

from launchlib.launch.context import PhaseContext
from launchlib.report.scorecard import score
from launchlib.runfolder.result import read_results
from launchlib.signoff.gates import pre_launch_phases

__all__ = ["review"]


def review(ctx: PhaseContext) -> dict[str, Any]:
    """The T+24h review: every phase's outcome so far and the scorecard."""
    results = read_results(ctx.run_dir) if any(ctx.run_dir.glob("*.ipynb")) else {}
    gate = results.get(pre_launch_phases(ctx.plan)[-1])
    failed = [k for k, v in results.items() if v.status.value == "failed" and k != ctx.phase]
    card = score(
        ctx.run_dir,
        ctx.plan,
        ctx.scenario,
        ctx.compress,
        gate.status.value == "passed" if gate else None,
        failed_phases=failed,
    )
    return {
        "phases": {
            k: {"status": v.status.value, "reason": v.reason, "duration_s": round(v.duration_s, 2)}
            for k, v in results.items()
        },
        "scorecard": card.model_dump(mode="json"),
    }
