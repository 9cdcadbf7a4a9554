"""Every notebook under plain papermill, whole rehearsals scored against their scenarios, run folders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import scrapbook as sb
from conftest import LAUNCHLIB, ROOT, cli_env

from launchlib.errors import RunError
from launchlib.runfolder.events import Event, read_events
from launchlib.runfolder.folder import read_manifest
from launchlib.runfolder.records import Scorecard
from launchlib.runfolder.result import RESULT_VERSION, read_results
from launchlib.runner.console import Console
from launchlib.runner.rehearse import exit_code, rehearse
from launchlib.simulator.scenarios import list_scenarios, load_scenario

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb") if p.stem != "analysis")  # phases


def test_one_notebook_per_phase_plus_rollback(plan) -> None:
    assert set(NOTEBOOKS) == {p.id for p in plan.phases} | {"rollback"}


#: what each notebook concludes on its own against the embedded simulator, with no sign-off file:
#: (status, how its reason starts). The gate waits for people's sign-offs; the rollback notebook
#: without a decision has nothing to roll back.
ALONE = {
    "T-24h": ("passed", ""),
    "T-12h": ("passed", ""),
    "T-6h": ("passed", ""),
    "T-1h": ("failed", "NO-GO: T-24h/final_system_health_check"),
    "T-0": ("passed", ""),
    "T+5m": ("passed", ""),
    "T+15m": ("passed", ""),
    "T+30m": ("passed", ""),
    "T+1h": ("passed", ""),  # or, consistently, failed on its success criteria: see below
    "T+24h": ("passed", ""),
    "rollback": ("skipped", "no rollback decision"),
}
TIER_1_ALONE = ("T-6h", "rollback")  # the rest in the scenario tier


@pytest.mark.parametrize(
    "phase",
    [
        pytest.param(p, marks=pytest.mark.slow if p in TIER_1_ALONE else pytest.mark.scenario)
        for p in NOTEBOOKS
    ],
)
def test_notebook_runs_alone_with_plain_papermill(tmp_path: Path, phase: str) -> None:
    out, run = tmp_path / "out.ipynb", tmp_path / "run"
    params = ["-p", "run_dir", str(run), "-p", "compress", "600"]
    proc = subprocess.run(
        [
            str(Path(LAUNCHLIB).with_name("papermill")),
            str(ROOT / "notebooks" / f"{phase}.ipynb"),
            str(out),
            *params,
            "--no-progress-bar",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = sb.read_notebook(str(out)).scraps["phase_result"].data
    assert result["version"] == RESULT_VERSION and result["phase"] == phase
    status, reason = ALONE[phase]
    if phase == "T+1h" and not result["gate"]["go"]:
        # alone at 600x the success criteria see a few seconds of samples: a p95 of so few may miss
        # (seen on an idle machine, 1 run in 3: "Risk calculation < 100ms: 111.28"). Then the
        # declaration is open, the phase failed for that reason alone, and the gate names the criterion
        status, reason = "failed", "open items: launch_success_declaration"
        assert result["reason"] == reason and result["gate"]["findings"], result["gate"]
    assert result["status"] == status and result["reason"].startswith(reason), (
        result["status"],
        result["reason"],
    )
    if not reason:
        assert not result["reason"], result["reason"]
    if phase != "rollback":
        assert {i["item"] for i in result["items"]} == {i.id for i in _plan_items(phase)}


def _plan_items(phase: str):
    from launchlib.plan.files import load_plan

    return load_plan(ROOT / "parameters/plan.yaml").phase(phase).items


# every shipped scenario the simulator can act; the container ones are rehearsed on a real
# dockerd stack in test_containers.py
SCENARIOS = [
    n for n in list_scenarios(ROOT / "parameters" / "scenarios") if not load_scenario(n).container_faults()
]


def _papermill(run_dir: Path, phase: str, key: str) -> datetime:
    """When papermill started or ended a phase's notebook."""
    meta = json.loads((run_dir / f"{phase}.ipynb").read_text())["metadata"]["papermill"]
    return datetime.fromisoformat(meta[key])


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(n, marks=pytest.mark.slow if n == "latency-spike" else pytest.mark.scenario)
        for n in SCENARIOS
    ],
)
def test_rehearsal_scorecard_meets_the_scenario(request: pytest.FixtureRequest, scenario: str) -> None:
    """Each scenario's one rehearsal of the session; the default one is the README run."""
    run = (
        request.getfixturevalue("readme_run")
        if scenario == "latency-spike"
        else request.getfixturevalue("rehearsed")(scenario)
    )
    run_dir, m, lines = run.run_dir, run.manifest, run.lines
    reports = run_dir.parent
    card = m.scorecard
    assert card.as_expected, (card.mismatches, lines)
    assert exit_code(m) == 0
    disk = read_manifest(run_dir)
    assert disk.scorecard == card and disk.outcome == m.outcome and disk.finished
    assert sum(line.startswith("[") for line in lines) >= 10
    assert lines[0] == f"launchlib rehearse · run {run_dir.name}" and lines[-1].startswith("report: ")
    assert not any("Traceback" in line or "WARNING" in line for line in lines)
    results = read_results(run_dir)  # scrapbook over the run folder
    if scenario == "no-go":
        assert m.outcome == "no-go" and "T-0" not in results
        assert any("rollback_team_on_standby" in r for r in m.gate.reasons)
        assert "rollback_team_on_standby" in (run_dir / "T-1h.html").read_text()
        return
    assert set(results) >= {"T-24h", "T-12h", "T-6h", "T-1h", "T-0", "T+24h"}
    review = Scorecard.model_validate(results["T+24h"].extra["scorecard"])  # computed once, from the decision
    assert review.triggers == card.triggers and review.time_to_recover_s == card.time_to_recover_s
    if m.outcome == "rolled back":
        decision = "\n".join(line for line in lines if line.startswith(("DECISION", "  ")))
        assert "DECISION at T+" in decision and "fired at T+" in decision, lines
        assert results["rollback"].status.value == "rolled_back"
        assert card.time_to_detect_s <= card.time_to_decide_s <= card.time_to_recover_s
        # a ramp's deadline runs from when it becomes detectable (derived from the scenario and the plan)
        assert card.time_to_recover_s - card.deadline_from_s <= card.deadline_s
        if scenario == "slow-degradation":  # +100 ms (min_change_ms) of a 400-ms ramp over 1800 s: T+12m30s
            assert 430 <= card.deadline_from_s <= 470, card
            assert "performance_degradation's bar" in card.deadline_from_why
        assert [p.status for p in m.phases if p.phase == "T+1h"] == ["skipped"]
        stopped = [e.phase for e in read_events(run_dir) if e.event == Event.INTERRUPT.value]
        for phase in stopped:  # the rollback starts beside the phase it stops, not once that has ended
            began = _papermill(run_dir, "rollback", "start_time")
            ended = _papermill(run_dir, phase, "end_time")
            assert began < ended, (phase, began, ended)
    else:
        assert results["T+1h"].gate.go and not card.triggers
    assert (run_dir / "samples").is_dir() and (run_dir / "ledger.sqlite").exists()
    html = (run_dir / "T-0.html").read_text()
    assert html.count('<script src="plotly.min.js"></script>') == 1 and "Plotly.newPlot" in html
    assert len(list(run_dir.glob("*.js"))) == 1
    index = (reports / "index.html").read_text()
    assert f">{run_dir.name}<" in index


def test_run_id_is_never_reused(reports: Path) -> None:
    (reports / "taken").mkdir()
    with pytest.raises(RunError, match="already exists"):
        rehearse("clean", run_id="taken", reports=reports)
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--run-id", "taken", "--reports", str(reports)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "already exists" in proc.stderr


@pytest.mark.slow
def test_failing_notebook_stops_with_phase_and_cell(tmp_path: Path) -> None:
    books = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", books)
    nb = json.loads((books / "T-12h.ipynb").read_text())
    nb["cells"][2]["source"] = "raise ValueError('disk full')"
    (books / "T-12h.ipynb").write_text(json.dumps(nb))
    lines: list[str] = []
    _, back = rehearse(
        "clean",
        run_id="broken",
        reports=tmp_path / "reports",
        notebooks=books,
        console=Console(echo=lines.append),
    )
    assert re.match(r"error: .*phase T-12h failed in cell \d+: ValueError: disk full", back.outcome)
    assert exit_code(back) == 3
    m = read_manifest(tmp_path / "reports" / "broken")
    assert m.outcome == back.outcome and m.error and m.error.phase == "T-12h"
    assert m.scorecard.not_scored and "Not scored" in (tmp_path / "reports/broken/report.html").read_text()
    assert [p.status for p in m.phases] == ["passed", "error"]
    assert set(read_results(tmp_path / "reports" / "broken")) == {"T-24h"}


def test_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"version": 1, "run_id": 3')
    with pytest.raises(RunError, match=r"manifest\.json:1: not JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"version": 1}')
    with pytest.raises(RunError, match=r"manifest\.json: run_id: Field required"):
        read_manifest(tmp_path)


def test_committed_notebooks_equal_the_generators_output(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    """One source for the notebooks' parameters and shape: launchlib.launch.notebooks."""
    from launchlib.launch.notebooks import write_notebooks

    written = write_notebooks(plan, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for path in written:
        committed = json.loads((ROOT / "notebooks" / path.name).read_text(encoding="utf-8"))
        assert json.loads(path.read_text(encoding="utf-8")) == committed, path.name
