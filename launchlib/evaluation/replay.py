"""Replay: judge a recorded samples file with the plan's triggers and success criteria."""

from __future__ import annotations

from pathlib import Path

from launchlib.errors import DataError, Problem
from launchlib.evaluation.sources import parse_time, read_events, read_samples
from launchlib.evaluation.success import evaluate_success
from launchlib.evaluation.triggers import TriggerEngine, evaluate
from launchlib.plan.model import Plan
from launchlib.runfolder.records import Decision, Record

__all__ = ["CriterionVerdict", "ReplayResult", "render_replay", "replay_file"]


class CriterionVerdict(Record):
    """A success criterion judged on the replayed samples (``passed`` is ``None``: not measured)."""

    id: str
    value: float | None
    threshold: str
    passed: bool | None


class ReplayResult(Decision):
    """The replay's decision with the success criteria (the ``--json`` contract of ``launchlib replay``)."""

    success_criteria: list[CriterionVerdict]


def replay_file(
    plan: Plan,
    samples: Path | str,
    deploy_at: str | float,
    events: Path | str | None = None,
    until: str | float | None = None,
) -> ReplayResult:
    """Judge a recorded samples file as the live monitor would have (see :class:`ReplayResult`)."""
    df = read_samples(samples)
    deploy = parse_time(deploy_at)
    end = parse_time(until, "--until") if until is not None else None
    evs = read_events(events) if events is not None else []
    first, last = float(df["ts"].min()), float(df["ts"].max())
    if not first <= deploy <= last:
        raise DataError(
            [
                Problem(
                    "--deploy-at",
                    "",
                    f"{deploy:.3f} is outside the samples ({first:.3f} … {last:.3f}): "
                    "the deploy must fall within the recorded data",
                )
            ]
        )
    if end is not None and end <= deploy:
        raise DataError([Problem("--until", "", f"{end:.3f} is not after the deploy at {deploy:.3f}")])
    rows = TriggerEngine(plan, deploy).rows(df)
    del df
    decision, _ = evaluate(plan, rows, deploy, evs, end)
    crit = [
        CriterionVerdict(
            id=c.id, value=c.value, threshold=f"{c.metric} {c.op} {c.threshold:g}", passed=c.passed
        )
        for c in evaluate_success(plan, rows, deploy, end)
    ]
    return ReplayResult(**dict(decision), success_criteria=crit)


def render_replay(result: ReplayResult) -> str:
    """Human-readable replay: decision, fired triggers with evidence, success criteria."""
    lines = []
    if result.decision == "rollback":
        lines.append(f"DECISION: ROLLBACK ({result.tier}) at {result.decided_at:.3f}")
    else:
        lines.append("DECISION: PROCEED (no trigger fired)")
    if result.triggers:
        lines += [
            "",
            f"{'trigger':<26} {'tier':<11} {'fired at':>16} {'value':>12} {'op':>3} {'threshold':>10} "
            f"{'samples':>8}  window",
        ]
        for f in result.triggers:
            e = f.evidence
            th = "" if e.threshold is None else f"{e.threshold:g}"
            lines.append(
                f"{f.id:<26} {f.tier:<11} {f.first_at:>16.3f} {e.value:>12.4g} {e.op:>3} "
                f"{th:>10} {e.samples:>8}  ({e.window_start:.1f}, {e.window_end:.1f}]"
            )
    lines += ["", f"{'success criterion':<44} {'value':>12}  {'threshold':<28} result"]
    for c in result.success_criteria:
        v = "n/a" if c.value is None else f"{c.value:.4g}"
        res = {True: "PASS", False: "FAIL", None: "not measured"}[c.passed]
        lines.append(f"{c.id:<44} {v:>12}  {c.threshold:<28} {res}")
    return "\n".join(lines)
