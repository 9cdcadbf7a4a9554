"""The T+24h review: every phase's outcome so far and the scorecard, from the run folder alone."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from launchlib.launch.context import PhaseContext
from launchlib.report.scorecard import score
from launchlib.runfolder.records import Scorecard
from launchlib.runfolder.result import PhaseStatus, read_results
from launchlib.signoff.gates import pre_launch_phases

__all__ = ["PhaseSummary", "Review", "review"]


class PhaseSummary(BaseModel):
    """How a phase ended, as the review lists it."""

    status: PhaseStatus
    reason: str = ""
    duration_s: float


class Review(BaseModel):
    """The review's findings: each phase so far and the run's scorecard."""

    phases: dict[str, PhaseSummary]
    scorecard: Scorecard

    def to_extra(self) -> dict[str, Any]:
        """As the review phase's result carries it (``PhaseResult.extra``; the glued JSON)."""
        return self.model_dump(mode="json")


def review(ctx: PhaseContext) -> Review:
    """The T+24h review: every phase's outcome so far and the scorecard."""
    results = read_results(ctx.run_dir) if any(ctx.run_dir.glob("*.ipynb")) else {}
    gate = results.get(pre_launch_phases(ctx.plan)[-1])
    failed = [k for k, v in results.items() if v.status is PhaseStatus.FAILED and k != ctx.phase]
    card = score(
        ctx.run_dir,
        ctx.plan,
        ctx.scenario,
        ctx.compress,
        gate.status is PhaseStatus.PASSED if gate else None,
        failed_phases=failed,
    )
    phases = {
        k: PhaseSummary(status=v.status, reason=v.reason, duration_s=round(v.duration_s, 2))
        for k, v in results.items()
    }
    return Review(phases=phases, scorecard=card)
