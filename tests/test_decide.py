"""A person in the loop: on the plan's confirm tier a firing proposes the rollback; the Launch
Commander accepts or rejects it (``launchlib decide``) before the timeout, else the plan's default
acts. Immediate and fast tiers still act at once. Everything lands in the decision ledger."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, PLAN_PATH, ROOT, Rehearsed, cli_env

from launchlib.errors import PlanError, RunError
from launchlib.launch.confirm import Confirmation
from launchlib.plan.model import Plan, Tier
from launchlib.runfolder.events import Event, record_event
from launchlib.runfolder.records import (
    AnswerRecord,
    Decision,
    Evidence,
    Firing,
    ProposalRecord,
    read_decisions,
)
from launchlib.signoff.answers import answer, load_headless_answer, pending_proposal

EV = Evidence(value=1.0, op=">", threshold=0.5, window_start=0.0, window_end=1.0, samples=100, first_true=1.0)


def _decision(tier: Tier, *causes: str, at: float = 100.0) -> Decision:
    fired = [Firing(id=c, tier=tier, first_at=at, evidence=EV) for c in causes]
    return Decision(decision="rollback", tier=tier, decided_at=at, triggers=fired)


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "reports" / "day"
    run.mkdir(parents=True)
    record_event(run, Event.DEPLOYED, at=time.time() - 60, release="v2")
    return run


def _decide(run: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [LAUNCHLIB, "decide", str(run), *args, "--plan", str(PLAN_PATH)]
    return subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=60)


def test_the_reference_plan_asks_for_confirmation_on_the_controlled_tier_only(plan: Plan) -> None:
    assert [(t.id, t.confirm) for t in plan.rollback.tiers] == [
        (Tier.IMMEDIATE, False),
        (Tier.FAST, False),
        (Tier.CONTROLLED, True),
    ]
    c = plan.tier(Tier.CONTROLLED)
    assert (c.confirm_roles, c.confirm_timeout_s, c.confirm_default) == (
        ["launch_commander"],
        600,
        "rollback",
    )


def test_immediate_and_fast_tiers_act_at_once(plan: Plan, tmp_path: Path) -> None:
    conf = Confirmation(plan, _run(tmp_path))
    for tier in (Tier.IMMEDIATE, Tier.FAST):
        acted = conf.resolve(_decision(tier, "unavailable"))
        assert acted is not None and acted.tier is tier and acted.answer is None
    assert not any(isinstance(r, ProposalRecord) for r in read_decisions(conf.folder.path))


def test_accepted_by_the_commander_the_rollback_starts_and_says_who(plan: Plan, tmp_path: Path) -> None:
    run = _run(tmp_path)
    conf = Confirmation(plan, run, compress=30.0)
    d = _decision(Tier.CONTROLLED, "monitoring_gap")
    assert conf.resolve(d) is None  # proposed, not decided
    prop = pending_proposal(run)
    assert prop is not None and prop.causes == ["monitoring_gap"] and prop.roles == ["launch_commander"]
    assert prop.deadline == pytest.approx(prop.proposed_at + 600 / 30.0)
    assert conf.resolve(d, time.time() + 1) is None  # no answer yet, deadline not reached
    res = _decide(
        run, "--accept", "--role", "Launch Commander", "--by", "Ana Ruiz", "--reason", "gap is real"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("accepted proposal controlled-1 by Ana Ruiz (launch_commander) at T+")
    acted = conf.resolve(d, time.time() + 1)
    assert acted is not None and acted.answer == "accept" and acted.tier is Tier.CONTROLLED
    [ans] = [r for r in read_decisions(run) if isinstance(r, AnswerRecord)]
    assert (ans.answer, ans.acted, ans.role, ans.by, ans.reason) == (
        "accept",
        "rollback",
        "launch_commander",
        "Ana Ruiz",
        "gap is real",
    )
    assert acted.decided_at == ans.answered_at and acted.proposed_at == prop.proposed_at
    assert pending_proposal(run) is None


def test_rejected_the_launch_goes_on_and_only_a_new_cause_proposes_again(plan: Plan, tmp_path: Path) -> None:
    run = _run(tmp_path)
    conf = Confirmation(plan, run)
    d = _decision(Tier.CONTROLLED, "performance_issues")
    assert conf.resolve(d) is None
    answer(run, plan, accept=False, role="launch_commander", by="Ana", reason="known slow report endpoint")
    assert conf.resolve(d, time.time() + 1) is None  # rejected: no decision
    assert conf.resolve(d, time.time() + 2) is None and pending_proposal(run) is None  # not proposed again
    again = _decision(Tier.CONTROLLED, "performance_issues", "minor_functionality")
    assert conf.resolve(again) is None
    assert pending_proposal(run) is not None and pending_proposal(run).causes == ["minor_functionality"]
    # a restarted monitor reads the rejection back: the rejected cause stays settled
    assert Confirmation(plan, run).settled == {"performance_issues"}
    # and a more urgent tier still acts at once, whatever waits
    urgent = conf.resolve(_decision(Tier.IMMEDIATE, "unavailable"))
    assert urgent is not None and urgent.tier is Tier.IMMEDIATE


def test_no_answer_in_time_the_plans_default_acts_as_a_timeout(plan: Plan, tmp_path: Path) -> None:
    run = _run(tmp_path)
    conf = Confirmation(plan, run, compress=600.0)  # 600 launch s = 1 real s
    d = _decision(Tier.CONTROLLED, "monitoring_gap")
    assert conf.resolve(d) is None
    prop = pending_proposal(run)
    assert prop is not None
    acted = conf.resolve(d, prop.deadline + 0.01)
    assert acted is not None and acted.answer == "timeout" and acted.decided_at == prop.deadline
    [ans] = [r for r in read_decisions(run) if isinstance(r, AnswerRecord)]
    assert (ans.answer, ans.acted, ans.by) == ("timeout", "rollback", None)
    # a proceed default lets the launch go on instead
    tiers = [t.model_copy(update={"confirm_default": "proceed"}) for t in plan.rollback.tiers]
    proceed = plan.model_copy(update={"rollback": plan.rollback.model_copy(update={"tiers": tiers})})
    run2 = tmp_path / "two"
    run2.mkdir()
    conf2 = Confirmation(proceed, run2, compress=600.0)
    assert conf2.resolve(d) is None
    assert conf2.resolve(d, pending_proposal(run2).deadline + 0.01) is None
    [ans2] = [r for r in read_decisions(run2) if isinstance(r, AnswerRecord)]
    assert (ans2.answer, ans2.acted) == ("timeout", "proceed")


def test_a_wrong_role_a_late_answer_or_no_proposal_is_refused_and_writes_nothing(
    plan: Plan, tmp_path: Path
) -> None:
    run = _run(tmp_path)
    res = _decide(run, "--accept", "--role", "launch_commander", "--by", "Ana")
    assert res.returncode == 2 and "no proposed rollback is waiting for an answer" in res.stderr, res
    conf = Confirmation(plan, run, compress=30.0)
    conf.resolve(_decision(Tier.CONTROLLED, "monitoring_gap"))
    before = (run / "decisions.jsonl").read_bytes()
    for args, said in [
        (("--accept", "--role", "devops_lead", "--by", "Sam"), "refused: only launch_commander may answer"),
        (("--accept", "--role", "janitor", "--by", "Sam"), "refused: not a role of the plan"),
        (("--role", "launch_commander", "--by", "Ana"), "--accept or --reject"),
        (("--reject", "--role", "launch_commander", "--by", " "), "--by: your name is required"),
    ]:
        res = _decide(run, *args)
        assert res.returncode == 2 and said in res.stderr and len(res.stderr.strip().splitlines()) == 1, res
        assert (run / "decisions.jsonl").read_bytes() == before  # the ledger unchanged
    lines = before.decode().splitlines()
    late = json.loads(lines[-1]) | {"deadline": time.time() - 1}
    (run / "decisions.jsonl").write_text("\n".join([*lines[:-1], json.dumps(late)]) + "\n")
    with pytest.raises(RunError, match="timed out at T\\+"):
        answer(run, plan, accept=True, role="launch_commander", by="Ana")


def test_the_rehearsal_answers_from_its_signoff_file(plan: Plan, tmp_path: Path) -> None:
    ans = load_headless_answer(ROOT / "parameters/signoffs/rehearsal.yaml", plan)
    assert ans is not None and (ans.answer, ans.role) == ("accept", "launch_commander")
    f = tmp_path / "s.yaml"
    f.write_text("launch_commander: []\ndecisions: none\n")
    assert load_headless_answer(f, plan).answer == "none"
    for text, said in [
        ("decisions: maybe\n", "decisions.answer"),
        ("decisions:\n  answer: accept\n  role: devops_lead\n", "may not answer a proposed rollback"),
    ]:
        f.write_text(text)
        with pytest.raises(PlanError, match=said):
            load_headless_answer(f, plan)


@pytest.mark.scenario
@pytest.mark.parametrize("said", ["accept", "reject", "none"])
def test_the_controlled_tier_rehearsed_each_way(
    said: str, plan: Plan, rehearsed: Callable[[str], Rehearsed], tmp_path: Path
) -> None:
    """monitoring-gap fires the controlled tier: accepted it rolls back at the answer, rejected the
    launch goes on, unanswered the plan's default (rollback) acts at the timeout; the console and
    the report say who answered, when and why."""
    if said == "accept":  # the project's sign-off file accepts: the shared rehearsal of the scenario
        got = rehearsed("monitoring-gap")
    else:
        from launchlib.runner.console import Console
        from launchlib.runner.rehearse import rehearse

        offs = tmp_path / "signoffs.yaml"
        text = (ROOT / "parameters/signoffs/rehearsal.yaml").read_text()
        reason = "reason: the gap is the monitoring path, not the release" if said == "reject" else ""
        offs.write_text(
            text.replace("answer: accept", f"answer: {said}").replace(
                "reason: rehearsal - the Launch Commander accepts the proposed rollback", reason
            )
        )
        lines: list[str] = []
        run_dir, m = rehearse(
            "monitoring-gap", reports=tmp_path, signoffs=offs, console=Console(echo=lines.append)
        )
        got = Rehearsed(run_dir, m, lines)
    recs = read_decisions(got.run_dir)
    [prop] = [r for r in recs if isinstance(r, ProposalRecord)]
    [ans] = [r for r in recs if isinstance(r, AnswerRecord) and r.proposal == prop.id]
    assert prop.tier is Tier.CONTROLLED and "monitoring_gap" in prop.causes
    assert any(line.startswith("PROPOSED rollback (controlled)") for line in got.lines), got.lines
    assert any(line.startswith(f"ANSWER {'timeout' if said == 'none' else said}") for line in got.lines)
    report = (got.run_dir / "report.html").read_text(encoding="utf-8")
    assert "Proposed rollbacks and their answers" in report
    m = got.manifest
    if said == "reject":
        assert (ans.answer, ans.acted, ans.by) == ("reject", "proceed", plan.role("launch_commander").name)
        assert "the gap is the monitoring path" in ans.reason and "REJECTED by" in report
        assert m.rollback is None and not m.scorecard.rollback
        assert m.scorecard.mismatches and not m.scorecard.as_expected  # the scenario expects the rollback
        return
    assert m.rollback is not None and m.scorecard.tier is Tier.CONTROLLED and m.scorecard.as_expected
    [decided] = [d for d in m.decisions if getattr(d, "type", "") == "decision"]
    assert decided.proposed_at == prop.proposed_at and decided.decided_at == ans.answered_at
    if said == "accept":
        assert (ans.answer, ans.by, ans.role) == (
            "accept",
            plan.role("launch_commander").name,
            "launch_commander",
        )
        assert ans.answered_at - prop.proposed_at < 5.0 and "ACCEPTED by" in report
    else:
        assert (ans.answer, ans.acted, ans.by) == ("timeout", "rollback", None)
        assert (
            ans.answered_at == pytest.approx(prop.proposed_at + 600 / m.compress) and "NO ANSWER by" in report
        )
