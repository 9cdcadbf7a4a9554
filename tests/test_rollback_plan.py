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


@pytest.mark.slow  # judges latency: never beside other tests' load
def test_after_a_rollback_performance_is_judged_against_the_release_before_the_launch(tmp_path: Path) -> None:
    """The restored release is held to its own pre-launch samples (a real simulator, a real
    monitor): as before, it passes on the monitor's samples; 300 ms slower on the API, it fails
    and says where; with the monitor gone a load test is judged; without a baseline, the
    absolute criteria."""
    import time

    from launchlib.launch.context import open_phase
    from launchlib.launch.monitor import Monitor
    from launchlib.launch.recovery import performance_as_before
    from launchlib.plan.files import load_plan
    from launchlib.probing.target import Target
    from launchlib.runfolder.events import Event, record_event
    from launchlib.simulator.app import SimConfig
    from launchlib.simulator.scenarios import Binding, Fault
    from launchlib.simulator.server import SimServer

    slow = Fault(
        kind="latency", binding=Binding.INFRASTRUCTURE, start_s=0, endpoints=("/api/",), latency_ms=300
    )
    run = tmp_path / "run"
    with SimServer(config=SimConfig(restart_s=0.05), faults=[slow]) as srv:
        monitor = Monitor(load_plan(PLAN_PATH), Target(srv.url), run).start()
        ctx = open_phase("T+24h", run_dir=str(run), target_url=srv.url, signoffs="")
        try:
            time.sleep(4.0)  # the baseline: the previous release before the deploy
            record_event(run, Event.DEPLOYED, release="v1.0-prod-ready")
            time.sleep(0.5)
            record_event(run, Event.ROLLBACK_COMPLETED, procedures=["emergency"])
            item = next(i for i in ctx.plan.rollback.post_checks if i.check == "performance")
            same = performance_as_before(ctx, item)
            assert same.passed and "of the monitor's requests" in same.detail, same.detail
            assert "as before" in same.detail
            srv.command("arm", t0=time.time(), compress=1.0)  # the slow path from now on
            time.sleep(ctx.perf_s)  # the window judged: the monitor's last perf_s seconds
            worse = performance_as_before(ctx, item)
            assert not worse.passed and "worse: api latency" in worse.detail, worse.detail
            monitor.stop()
            tested = performance_as_before(ctx, item)
            assert not tested.passed and "of a load test's requests" in tested.detail, tested.detail
            alone = open_phase("T+24h", run_dir=str(tmp_path / "alone"), target_url=srv.url, signoffs="")
            try:  # no baseline (a phase on its own): the absolute criteria
                record_event(tmp_path / "alone", Event.DEPLOYED, release="v1.0-prod-ready")
                res = performance_as_before(alone, item)
                assert not res.passed and "against" not in res.detail, res.detail
            finally:
                alone.close()
        finally:
            monitor.stop()
            ctx.close()


def test_a_post_rollback_window_too_short_to_judge_is_widened() -> None:
    """Fewer answered requests than the judge needs in a class (a restart, a busy host): the
    post-rollback check takes every sample since the rollback instead of judging "no data"."""
    from types import SimpleNamespace

    import pandas as pd

    from launchlib.launch.recovery import _short
    from launchlib.plan.files import load_plan

    ctx = SimpleNamespace(plan=load_plan(PLAN_PATH))
    endpoints = list(ctx.plan.monitoring.endpoint_classes)

    def window(per_endpoint: int, status: int = 200) -> pd.DataFrame:
        rows = [(float(i), ep, 40.0, status) for i in range(per_endpoint) for ep in endpoints]
        return pd.DataFrame(rows, columns=["ts", "endpoint", "latency_ms", "status"])

    assert not _short(ctx, window(25))  # type: ignore[arg-type]
    assert _short(ctx, window(10))  # type: ignore[arg-type]
    assert _short(ctx, window(25, status=0))  # type: ignore[arg-type]  # unanswered: nothing to judge
    stalled = window(25).assign(client_stall_ms=500.0)  # measured while the client stalled: not judged
    assert _short(ctx, stalled)  # type: ignore[arg-type]
