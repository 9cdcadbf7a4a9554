"""The plan says what to do: procedures and incident types come from the triggers, never from ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PLAN_PATH

from launchlib.errors import PlanError
from launchlib.launch.phases import phase_kind
from launchlib.launch.rollback import choose_procedures, escalation_roles
from launchlib.plan.files import load_plan
from launchlib.plan.model import PhaseKind
from launchlib.runfolder.records import Decision, Evidence, Firing

GOOD = PLAN_PATH.read_text(encoding="utf-8")


def _plan(tmp_path: Path, *subs: tuple[str, str]) -> Path:
    text = GOOD
    for old, new in subs:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _decision(tier: str, *ids: str) -> Decision:
    ev = Evidence(value=1, op=">", threshold=0, window_start=0, window_end=1, samples=1, first_true=0)
    fired = [Firing(id=i, tier=tier, first_at=1.0, evidence=ev) for i in ids]
    return Decision(decision="rollback", tier=tier, decided_at=1.0, triggers=fired)


def test_a_renamed_data_integrity_trigger_keeps_its_database_rollback(tmp_path: Path) -> None:
    plan = load_plan(_plan(tmp_path, ("id: data_integrity", "id: ledger_mismatch")))
    procs = choose_procedures(plan, _decision("immediate", "ledger_mismatch"))
    assert [p.id for p in procs] == ["emergency", "database"]
    assert escalation_roles(plan, _decision("immediate", "ledger_mismatch"))[0] == "Infrastructure"


def test_procedures_follow_the_deciding_tier_and_every_database_cause(plan) -> None:  # type: ignore[no-untyped-def]
    assert [p.id for p in choose_procedures(plan, _decision("fast", "error_rate"))] == ["controlled"]
    both = _decision("immediate", "api_latency", "performance_degradation", "data_integrity")
    assert [p.id for p in choose_procedures(plan, both)] == ["emergency", "database"]
    issue, chain = escalation_roles(plan, _decision("immediate", "security_breach"))
    assert issue == "Security" and chain[:2] == ["security_officer", "launch_commander"]


def test_phase_kinds_are_declared_in_the_plan(plan) -> None:  # type: ignore[no-untyped-def]
    kinds = {p.id: phase_kind(plan, p.id) for p in plan.phases}
    assert kinds["T-1h"] is PhaseKind.GATE and kinds["T-0"] is PhaseKind.DEPLOY
    assert kinds["T+1h"] is PhaseKind.SUCCESS and kinds["T+24h"] is PhaseKind.REVIEW
    assert phase_kind(plan, "rollback") is PhaseKind.ROLLBACK


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "procedures: [emergency, database]",
            "procedures: [emergency, restore_all]",
            "unknown procedure 'restore_all'",
        ),
        ("incident: Security", "incident: Espionage", "'Espionage' is no issue type"),
        ("  kind: watch\n", "  kind: deploy\n", "phases of kind deploy"),
        ("  kind: gate\n", "  kind: bogus\n", "kind"),
    ],
)
def test_the_validator_checks_what_the_plan_declares(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    with pytest.raises(PlanError) as err:
        load_plan(_plan(tmp_path, (old, new)))
    assert any(expected in line for line in err.value.lines()), err.value.lines()
