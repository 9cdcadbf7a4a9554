"""The scorecard on crafted run folders: strict about causes and gates, noise apart, in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchlib.plan.model import Plan
from launchlib.report.scorecard import compression_note, describe, not_scored, score, verdict
from launchlib.runfolder.clock import LaunchClock, clock
from launchlib.runfolder.events import Event, TimelineEvent
from launchlib.runfolder.records import DecisionRecord, Evidence, Firing, FiringRecord
from launchlib.simulator.scenarios import Scenario

T0 = 1_700_000_000.0
COMPRESS = 30.0


def _folder(
    tmp_path: Path,
    events: list[tuple[str, float]],
    firings: list[tuple[str, str, float]],
    decided: float | None = None,
    tier: str = "immediate",
) -> Path:
    """A run folder: events at launch seconds, firings (id, tier, launch s), a decision on those before it."""
    wall = lambda s: T0 + s / COMPRESS  # noqa: E731
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps({"event": e, "at": wall(s)}) + "\n" for e, s in [("deployed", 0.0), *events])
    )
    recs: list[FiringRecord | DecisionRecord] = []
    for tid, t_tier, s in firings:
        ev = Evidence(
            value=1.0,
            op=">",
            threshold=0.5,
            window_start=wall(s - 30),
            window_end=wall(s),
            samples=50,
            first_true=wall(s),
        )
        recs.append(FiringRecord(id=tid, tier=t_tier, first_at=wall(s), recorded_at=wall(s), evidence=ev))
    if decided is not None:
        causes = [
            Firing(id=r.id, tier=r.tier, first_at=r.first_at, evidence=r.evidence)
            for r in recs
            if isinstance(r, FiringRecord) and r.first_at <= wall(decided)
        ]
        recs.append(
            DecisionRecord(
                decision="rollback",
                tier=tier,
                decided_at=wall(decided),
                recorded_at=wall(decided),
                triggers=causes,
            )
        )
    (tmp_path / "decisions.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in recs))
    return tmp_path


def _scenario(**expect: object) -> Scenario:
    return Scenario.model_validate(
        {"name": "s", "faults": [{"kind": "latency", "start_s": 120, "latency_ms": 600}], "expect": expect}
    )


SPIKE = {"rollback": True, "tier": "immediate", "triggers": ["performance_degradation", "api_latency"]}
ROLLED = [("rollback_started", 200.0), ("rollback_completed", 220.0), ("post_checks_green", 260.0)]


def test_an_expected_rollback_scores_as_expected(plan: Plan, tmp_path: Path) -> None:
    run = _folder(tmp_path, ROLLED, [("performance_degradation", "immediate", 180.0)], decided=185.0)
    card = score(run, plan, _scenario(**SPIKE), COMPRESS, gate_go=True)
    assert card.as_expected, card.mismatches
    assert card.time_to_detect_s == 60.0 and card.time_to_decide_s == 65.0
    assert card.time_to_recover_s == 140.0 and card.within_deadline and card.deadline_s == 300


def test_a_cause_the_scenario_does_not_allow_is_a_mismatch(plan: Plan, tmp_path: Path) -> None:
    firings = [("performance_degradation", "immediate", 180.0), ("security_breach", "immediate", 181.0)]
    run = _folder(tmp_path, ROLLED, firings, decided=185.0)
    card = score(run, plan, _scenario(**SPIKE), COMPRESS, gate_go=True)
    assert not card.as_expected
    assert any("security_breach caused the decision" in m for m in card.mismatches)


def test_triggers_after_the_decision_are_noise_not_causes(plan: Plan, tmp_path: Path) -> None:
    firings = [("performance_degradation", "immediate", 180.0), ("unavailable", "immediate", 210.0)]
    run = _folder(tmp_path, ROLLED, firings, decided=185.0)
    card = score(run, plan, _scenario(**SPIKE), COMPRESS, gate_go=True)
    assert card.triggers == ["performance_degradation"] and card.noise == ["unavailable"]
    assert card.as_expected, card.mismatches
    assert any("noise" in line and "unavailable" in line for line in describe(card))


def test_a_missing_gate_is_a_mismatch(plan: Plan, tmp_path: Path) -> None:
    run = _folder(tmp_path, ROLLED, [("performance_degradation", "immediate", 180.0)], decided=185.0)
    card = score(run, plan, _scenario(**SPIKE), COMPRESS, gate_go=None)
    assert card.mismatches == ["no go/no-go gate was recorded, expected go"]


def test_a_late_recovery_and_a_wrong_tier_are_mismatches(plan: Plan, tmp_path: Path) -> None:
    late = [("rollback_started", 200.0), ("rollback_completed", 300.0), ("post_checks_green", 480.0)]
    run = _folder(tmp_path, late, [("api_latency", "fast", 180.0)], decided=185.0, tier="fast")
    card = score(run, plan, _scenario(**SPIKE), COMPRESS, gate_go=True)
    text = "; ".join(card.mismatches)
    assert "tier was fast, expected immediate" in text
    card = score(
        _folder(tmp_path, late, [("performance_degradation", "immediate", 180.0)], decided=185.0),
        plan,
        _scenario(**SPIKE),
        COMPRESS,
        gate_go=True,
    )
    assert card.within_deadline is False and any("deadline 300" in m for m in card.mismatches)
    assert "OUTSIDE" in describe(card)[0]


def test_the_hand_over_to_the_rollback_is_said_when_it_takes_long(plan: Plan, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    quick = _folder(tmp_path / "a", ROLLED, [("performance_degradation", "immediate", 180.0)], decided=198.0)
    assert "began the rollback" not in describe(score(quick, plan, _scenario(**SPIKE), COMPRESS, True))[0]
    slow = _folder(tmp_path / "b", ROLLED, [("performance_degradation", "immediate", 180.0)], decided=185.0)
    first = describe(score(slow, plan, _scenario(**SPIKE), COMPRESS, True))[0]
    assert "decided 5 s later, began the rollback 15 s after the decision, rolled back in 20 s" in first


def test_a_compression_that_leaves_the_deadline_to_the_machine_is_noted(plan: Plan) -> None:
    immediate = _scenario(**SPIKE)
    assert compression_note(plan, immediate, 30.0) is None  # 120 launch s of 300
    note = compression_note(plan, immediate, 60.0)
    assert note is not None and "~240 launch s of the immediate tier's 300-s deadline" in note
    assert "up to 37× leaves half" in note
    assert compression_note(plan, _scenario(rollback=False), 600.0) is None  # nothing timed
    assert compression_note(plan, None, 600.0) is None


def test_a_clean_scenario_fails_on_any_trigger(plan: Plan, tmp_path: Path) -> None:
    run = _folder(
        tmp_path, ROLLED, [("performance_issues", "controlled", 900.0)], decided=901.0, tier="controlled"
    )
    card = score(run, plan, _scenario(rollback=False), COMPRESS, gate_go=True)
    text = "; ".join(card.mismatches)
    assert "rollback happened, expected False" in text and "expects no trigger" in text
    quiet = score(_folder(tmp_path, [], []), plan, _scenario(rollback=False), COMPRESS, gate_go=True)
    assert quiet.as_expected and verdict(quiet) == "as expected"


def test_no_go_scenarios(plan: Plan, tmp_path: Path) -> None:
    run = _folder(tmp_path, [], [])
    assert score(run, plan, _scenario(rollback=False, gate="no-go"), COMPRESS, gate_go=False).as_expected
    card = score(run, plan, _scenario(rollback=False, gate="no-go"), COMPRESS, gate_go=True)
    assert card.mismatches == ["gate was go, expected no-go"]


def test_not_scored_withholds_the_verdict(plan: Plan, tmp_path: Path) -> None:
    card = not_scored(
        score(_folder(tmp_path, [], []), plan, _scenario(rollback=False), COMPRESS, True), "boom"
    )
    assert card.as_expected is None and verdict(card) == "not scored: boom"
    assert describe(card) == ["Not scored: boom."]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "T-0"), (160, "T+2m40s"), (-65, "T-1m05s"), (45, "T+45s"), (3900, "T+1h05m")]
)
def test_launch_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_one_t0_rule_where_the_clock_and_the_deploy_events_differ(plan: Plan, tmp_path: Path) -> None:
    """A run whose standalone phase armed a clock 10 minutes before the deploy: T-0 is the deploy
    for the scorecard, the report's run data, the console and a phase's context alike."""
    from launchlib.launch.context import PhaseContext
    from launchlib.report.run_data import load_run
    from launchlib.runfolder.folder import Manifest, write_manifest

    run = _folder(tmp_path, [("post_checks_green", 300.0)], [])
    events = (run / "events.jsonl").read_text()
    (run / "events.jsonl").write_text(json.dumps({"event": "clock", "at": T0 - 20.0}) + "\n" + events)
    write_manifest(
        run, Manifest(run_id="r", scenario="s", target="", plan_hash="", compress=COMPRESS, started=T0 - 60)
    )
    launch = LaunchClock.of_run(run, COMPRESS)
    assert launch.origin == T0 and launch.at(T0 + 10.0) == "T+5m00s" and launch.wall(300.0) == T0 + 10.0
    assert score(run, plan, None, COMPRESS).time_to_recover_s == 300.0
    assert load_run(run, with_results=False).origin == T0
    ctx = PhaseContext.__new__(PhaseContext)  # only the launch clock of a phase's context
    ctx.run_dir, ctx.compress = run, COMPRESS
    assert ctx.launch_wall(300.0) == T0 + 10.0
    assert (
        LaunchClock.from_events([TimelineEvent(event=Event.CLOCK, at=5.0)], 2.0).launch_s(6.0) == 2.0
    )  # no deploy yet
    assert str(LaunchClock(None)) == "before T-0"
