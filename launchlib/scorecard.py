"""The rehearsal scorecard: fault → detect → decide → recover, timed and checked against the scenario.

Times are launch seconds (wall seconds × compression) from the fault's onset, so a rehearsal
compressed 60× is judged against the plan's real tier deadlines. The outcome is compared with
the scenario's expectation: rollback or not, the tier, the triggers, a database rollback,
a bad rollback caught, the go/no-go gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchlib.faults import Scenario
from launchlib.gates import pre_launch_phases
from launchlib.plan import Plan
from launchlib.runlog import DECISIONS, EVENTS, read_jsonl

if TYPE_CHECKING:
    from launchlib.context import PhaseContext

__all__ = ["review", "score", "verdict"]


def _first(events: list[dict[str, Any]], name: str) -> float | None:
    return next((float(e["at"]) for e in events if e.get("event") == name), None)


def score(
    run_dir: Path | str, plan: Plan, scenario: Scenario | None, compress: float, gate_go: bool | None = None
) -> dict[str, Any]:
    """The scorecard of a run folder (works on a partial run: missing steps are ``None``)."""
    run_dir = Path(run_dir)
    events, recs = read_jsonl(run_dir / EVENTS), read_jsonl(run_dir / DECISIONS)
    origin = _first(events, "clock") or _first(events, "deployed")
    firings = [r for r in recs if r.get("type") == "firing"]
    decision = next((r for r in recs if r.get("type") == "decision"), None)
    onset_s = scenario.first_onset() if scenario else None
    onset = origin + onset_s / compress if origin is not None and onset_s is not None else origin

    def launch_s(wall: float | None) -> float | None:
        return None if wall is None or onset is None else round((wall - onset) * compress, 1)

    tier = decision["tier"] if decision else None
    deadline = plan.tier(tier).deadline_s if tier else None
    recovered = _first(events, "post_checks_green")
    card: dict[str, Any] = {
        "fault_onset_launch_s": onset_s,
        "time_to_detect_s": launch_s(min((f["first_at"] for f in firings), default=None)),
        "time_to_decide_s": launch_s(decision["recorded_at"] if decision else None),
        "time_to_rollback_s": launch_s(_first(events, "rollback_completed")),
        "time_to_recover_s": launch_s(recovered),
        "tier": tier,
        "deadline_s": deadline,
        "triggers": [f["id"] for f in firings],
        "rollback": _first(events, "rollback_started") is not None,
        "database_rollback": _first(events, "database_restored") is not None,
        "bad_rollback_caught": _first(events, "bad_rollback") is not None,
        "gate": None if gate_go is None else ("go" if gate_go else "no-go"),
    }
    rec = card["time_to_recover_s"]
    card["within_deadline"] = None if deadline is None or rec is None else rec <= deadline
    card["mismatches"] = _mismatches(card, scenario) if scenario else []
    card["as_expected"] = not card["mismatches"] if scenario else None
    return card


def _mismatches(card: dict[str, Any], sc: Scenario) -> list[str]:
    exp, out = sc.expect, []
    if exp.gate == "no-go" or card["gate"] == "no-go":
        if card["gate"] != exp.gate:
            out.append(f"gate was {card['gate']}, expected {exp.gate}")
        return out
    if card["rollback"] != exp.rollback:
        out.append(
            f"rollback {'happened' if card['rollback'] else 'did not happen'}, expected {exp.rollback}"
        )
    if exp.rollback and card["tier"] != (exp.tier.value if exp.tier else None):
        out.append(f"tier was {card['tier']}, expected {exp.tier}")
    if exp.triggers and not set(exp.triggers) & set(card["triggers"]):
        out.append(f"fired {card['triggers'] or 'nothing'}, expected one of {list(exp.triggers)}")
    if card["database_rollback"] != exp.database_rollback:
        out.append(f"database rollback {card['database_rollback']}, expected {exp.database_rollback}")
    if card["bad_rollback_caught"] != exp.bad_rollback_caught:
        out.append(f"bad rollback caught {card['bad_rollback_caught']}, expected {exp.bad_rollback_caught}")
    if exp.rollback and card["within_deadline"] is False:
        out.append(f"recovered after {card['time_to_recover_s']} s, tier deadline {card['deadline_s']} s")
    if exp.rollback and card["time_to_recover_s"] is None:
        out.append("post-rollback checks never went green")
    return out


def verdict(card: dict[str, Any]) -> str:
    """One phrase: the run went as its scenario expected, or what differed."""
    if card.get("as_expected") is None:
        return "no expectation"
    return (
        "as expected" if card["as_expected"] else "NOT as expected: " + "; ".join(card.get("mismatches", []))
    )


def review(ctx: PhaseContext) -> dict[str, Any]:
    """The T+24h review: every phase's outcome so far and the scorecard."""
    from launchlib.result import read_results

    results = read_results(ctx.run_dir) if any(ctx.run_dir.glob("*.ipynb")) else {}
    gate = results.get(pre_launch_phases(ctx.plan)[-1])
    card = score(
        ctx.run_dir, ctx.plan, ctx.scenario, ctx.compress, gate.status.value == "passed" if gate else None
    )
    return {
        "phases": {
            k: {"status": v.status.value, "reason": v.reason, "duration_s": round(v.duration_s, 2)}
            for k, v in results.items()
        },
        "scorecard": card,
    }
