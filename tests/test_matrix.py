"""The plan's own test matrix: every shipped scenario judged in one table; a plan loosened until a
scenario is missed makes ``launchlib rehearse --all`` exit 1 and name it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import LAUNCHLIB, ROOT, Rehearsed, copy_project, person_env

from launchlib.report.fidelity import fidelity, latest_fidelity, write_fidelity
from launchlib.report.run_data import load_run
from launchlib.runner.matrix import _fitting, scenarios_matching
from launchlib.simulator.scenarios import list_scenarios

CONTAINER_SCENARIOS = {"container-pause", "container-stop"}
# every scenario whose faults act on containers: the simulator-only target skips them
STACK_SCENARIOS = CONTAINER_SCENARIOS | {"staging-bad-rollback", "staging-books", "staging-crash"}


def test_scenarios_are_chosen_by_glob_and_a_target_that_cannot_act_a_fault_skips_it() -> None:
    shipped = list_scenarios(ROOT / "parameters/scenarios")
    assert scenarios_matching(None) == shipped
    assert scenarios_matching("container-*") == sorted(CONTAINER_SCENARIOS)
    with pytest.raises(Exception, match="matches no scenario"):
        scenarios_matching("nothing-like-this*")
    fit, skipped = _fitting(shipped, "")
    assert set(skipped) == STACK_SCENARIOS and "needs --docker-project" in skipped["container-stop"]
    assert fit == [s for s in shipped if s not in STACK_SCENARIOS]


@pytest.mark.scenario
@pytest.mark.timeout(2400)  # the first to ask for the session's rehearsals: it runs most of them
def test_the_table_over_every_shipped_scenario(
    rehearsed: Callable[[str], Rehearsed], readme_run: Rehearsed, tmp_path: Path
) -> None:
    """The session's rehearsals (one per scenario) read as the matrix ``rehearse --all`` writes."""
    fit, skipped = _fitting(list_scenarios(ROOT / "parameters/scenarios"), "")
    runs = [load_run(readme_run.run_dir if s == "latency-spike" else rehearsed(s).run_dir) for s in fit]
    table = fidelity(runs)
    assert [s.scenario for s in table] == fit
    missed = {s.scenario: s.runs[0].why for s in table if not s.holds}
    assert not missed, missed
    data, page = write_fidelity(tmp_path, "fidelity-20261204-000000", table, "every scenario", skipped)
    got = json.loads(data.read_text())
    assert got["held"] and {s["scenario"] for s in got["scenarios"]} == set(fit)
    assert set(got["skipped"]) == STACK_SCENARIOS
    row = next(s for s in got["scenarios"] if s["scenario"] == "error-burst")["runs"][0]
    assert (
        row["expected"] == row["actual"] == "rollback (fast)"
        and row["within_deadline"]
        and not row["false_rollback"]
    )
    clean = next(s for s in got["scenarios"] if s["scenario"] == "clean")["runs"][0]
    assert clean["expected"] == clean["actual"] == "no rollback"
    text = page.read_text()
    assert f"{len(fit)} of {len(fit)} scenarios held" in text and "container-stop" in text
    assert latest_fidelity(tmp_path) == page


@pytest.mark.scenario
def test_a_loosened_threshold_makes_the_matrix_exit_1_and_name_the_scenario(tmp_path: Path) -> None:
    """trading-failure is caught on the immediate tier by critical_trading_failure (>= 50 % trading
    errors); loosened until it can never hold (> 100 %), only the fast tier catches it: missed."""
    root = copy_project(tmp_path / "project")
    plan_file = root / "parameters/plan.yaml"
    data = yaml.safe_load(plan_file.read_text())
    trig = next(
        t
        for tier in data["rollback"]["tiers"]
        for t in tier["triggers"]
        if t["id"] == "critical_trading_failure"
    )
    trig["condition"].update(op=">", threshold=1.0)
    plan_file.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--all", "--scenario", "trading-*"],
        cwd=root,
        env=person_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "held: 0 of 1 scenarios; missed: trading-failure" in proc.stdout
    page = Path(proc.stdout.strip().splitlines()[-1].removeprefix("fidelity table: "))
    assert page.parent == root / "reports" and page.name.startswith("fidelity-")
    got = json.loads(page.with_suffix(".json").read_text())
    [row] = got["scenarios"][0]["runs"]
    assert not got["held"] and row["expected"] == "rollback (immediate)" and row["actual"] != row["expected"]
    assert any("tier" in why for why in row["why"]), row
    assert page.name in (root / "reports" / "index.html").read_text()  # the index links the latest table
