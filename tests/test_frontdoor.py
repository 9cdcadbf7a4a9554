"""The front door as a person uses it: the CLI as a subprocess from a project root, with defaults.

Exit codes (0 as expected, 1 findings, 2 bad input, 3 the run broke), a monitor that breaks
mid-run, a target that goes away, dry runs, and notebook parameters nobody declared.
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, ROOT, Rehearsed, cli_env, copy_project, person_env

from launchlib.launch.monitor import Monitor
from launchlib.runfolder.events import Event, event_time, read_events
from launchlib.runfolder.folder import read_manifest
from launchlib.runner.console import Console
from launchlib.runner.dryrun import dry_run
from launchlib.runner.kernels import KernelPool
from launchlib.runner.rehearse import exit_code, rehearse

PAPERMILL = str(Path(LAUNCHLIB).with_name("papermill"))


def _project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


_env = person_env


@pytest.mark.slow
def test_readme_command_from_a_project_root_with_defaults(readme_run: Rehearsed) -> None:
    out, root = readme_run.lines, readme_run.root
    assert root is not None
    assert readme_run.returncode == 0, "\n".join(out) + readme_run.stderr
    assert readme_run.stderr == "", readme_run.stderr  # no warning, no traceback
    assert out[0].startswith("launchlib rehearse · run latency-spike-")
    assert any(line.startswith("  run folder " + str(root / "reports")) for line in out)
    assert sum(line.startswith("[") for line in out) >= 10
    assert any(line.startswith("DECISION at T+") for line in out)
    assert any("fired at T+" in line and "baseline" in line for line in out)
    assert any("inside the immediate tier's deadline of 5 minutes" in line for line in out), out
    assert out[-2] == "outcome: rolled back" and out[-1].startswith("report: " + str(root / "reports"))
    run_dir = readme_run.run_dir
    m = read_manifest(run_dir)
    assert m.scorecard.as_expected and m.scorecard.tier == "immediate"
    assert "performance_degradation" in m.scorecard.triggers
    report = (run_dir / "report.html").read_text()
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", report, flags=re.S)  # what a person reads
    assert "None" not in text and "['" not in text and "As expected" in text
    assert not (root / "reports" / run_dir.name / "reports").exists()  # nothing written relative to a kernel


def test_exit_2_for_bad_input_creates_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--scenario", "no-such"], cwd=root, capture_output=True, text=True, env=_env()
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no-such" in proc.stderr
    assert "Traceback" not in proc.stderr and not (root / "reports").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--scenario", "container-stop"], "container_stop acts on containers: needs --docker-project"),
        (
            ["--scenario", "outage", "--target", "http://127.0.0.1:1", "--docker-project", "trading"],
            "outage is the simulator's; a stack takes container_",
        ),
        (["--scenario", "container-stop", "--docker-project", "trading"], "needs --target"),
    ],
)
def test_a_fault_that_cannot_be_injected_is_bad_input(tmp_path: Path, args: list[str], expected: str) -> None:
    """A rehearsal whose fault never happens would score nothing: refused before anything runs."""
    root = _project(tmp_path)
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", *args], cwd=root, capture_output=True, text=True, env=_env()
    )
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (root / "reports").exists()


def test_exit_3_when_the_target_is_unreachable_at_start(tmp_path: Path) -> None:
    root = _project(tmp_path)
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--target", "http://127.0.0.1:1"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "unreachable at start" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_exit_1_when_the_rehearsal_finds_what_its_scenario_did_not_expect(tmp_path: Path) -> None:
    root = _project(tmp_path)
    sc = root / "parameters" / "scenarios" / "surprise.yaml"
    sc.write_text(
        "name: surprise\ndescription: a sign-off is missing but the scenario expects a launch\n"
        "missing_signoffs: [T-1h/rollback_team_on_standby]\nexpect:\n  rollback: false\n"
    )
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--scenario", str(sc), "--run-id", "surprise"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "outcome: no-go" in proc.stdout and "gate was no-go, expected go" in proc.stdout


@pytest.mark.scenario
# an interrupted notebook leaves an event loop of the kernel client unclosed (see the closing note)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_monitor_whose_writer_breaks_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Monitor._write_part

    def failing(self: Monitor) -> None:
        if event_time(self.run_dir, "deployed") is not None and self._parts >= 12:
            raise OSError(28, "No space left on device")
        real(self)

    monkeypatch.setattr(Monitor, "_write_part", failing)
    lines: list[str] = []
    started = time.monotonic()
    run_dir, m = rehearse("clean", run_id="dead", reports=tmp_path, console=Console(echo=lines.append))
    assert time.monotonic() - started < 120  # stopped, not run to T+24h
    assert m.outcome.startswith("error: monitoring stopped at T+"), m.outcome
    assert "No space left on device" in m.outcome and exit_code(m) == 3
    assert m.scorecard.not_scored and "Not scored" in "\n".join(lines)
    later = [p for p in m.phases if p.phase in ("T+5m", "T+15m", "T+30m", "T+1h")]
    assert all(p.status != "passed" for p in later), later
    disk = read_manifest(run_dir)  # the run folder is intact and says what happened
    assert disk.outcome == m.outcome and (run_dir / "report.html").exists()
    assert len(list((run_dir / "samples").glob("part-*.parquet"))) >= 12
    assert json.loads((run_dir / "monitor.json").read_text())["state"].startswith("failed")
    gc.collect()  # what the interrupted kernel client left is collected here, under this test's filter


@pytest.mark.scenario
# an interrupted notebook leaves an event loop of the kernel client unclosed (see the closing note)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_target_that_goes_away_breaks_the_run_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from launchlib.simulator.app import SimConfig
    from launchlib.simulator.server import SimServer

    server = SimServer("127.0.0.1", 0, SimConfig(restart_s=0.5, compress=30.0)).start()
    monkeypatch.setenv("LAUNCHLIB_ADMIN_TOKEN", server.state.config.admin_token)  # as on launch day
    run_dir = tmp_path / "gone"

    def kill_after_deploy() -> None:
        while event_time(run_dir, "deployed") is None:
            time.sleep(0.1)
        time.sleep(2.0)  # T+1m
        server.stop()

    killer = threading.Thread(target=kill_after_deploy, daemon=True)
    killer.start()
    lines: list[str] = []
    try:
        _, m = rehearse(
            "clean",
            run_id="gone",
            reports=tmp_path,
            target_url=server.url,
            console=Console(echo=lines.append),
        )
    finally:
        server.stop()
    assert m.outcome.startswith("error: "), m.outcome
    assert exit_code(m) == 3 and m.scorecard.not_scored
    assert "unavailable" in [r.id for r in m.decisions if r.type == "firing"]
    assert read_manifest(run_dir).outcome == m.outcome and (run_dir / "report.html").exists()
    gc.collect()


def test_dry_run_on_a_good_setup(tmp_path: Path) -> None:
    root = _project(tmp_path)
    proc = subprocess.run(
        [LAUNCHLIB, "rehearse", "--dry-run", "--scenario", "outage"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 0 and "ready" in proc.stdout, proc.stderr
    assert not (root / "reports").exists()
    proc = subprocess.run(
        [LAUNCHLIB, "run-phase", "T-1h", "--run-id", "day", "--dry-run"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr


def test_dry_run_lists_every_problem(tmp_path: Path) -> None:
    root = _project(tmp_path)
    plan = root / "parameters" / "plan.yaml"
    plan.write_text(plan.read_text().replace("interval_s: 10.0", "interval_s: ten"))
    (root / "reports").write_text("not a folder")
    books = root / "notebooks"
    nb = json.loads((books / "T+5m.ipynb").read_text())
    nb["cells"][1]["source"] = "".join(nb["cells"][1]["source"]).replace("compress = 30.0", "compres = 30.0")
    (books / "T+5m.ipynb").write_text(json.dumps(nb))
    (books / "T+15m.ipynb").unlink()
    broken_plan = dry_run(plan_path=plan, scenario="clean")
    assert [p.field for p in broken_plan] == ["monitoring.interval_s"] and broken_plan[0].line
    problems = [
        str(p)
        for p in dry_run(
            scenario="no-such",
            run_id="../up",
            reports=root / "reports",
            target_url="http://127.0.0.1:1",
            compress=0,
            plan_path=ROOT / "parameters" / "plan.yaml",
            signoffs=root / "parameters" / "signoffs" / "missing.yaml",
            database_url_env="LAUNCHLIB_TEST_UNSET_VARIABLE",
            notebooks=books,
        )
    ]
    text = "\n".join(problems)
    for expected in (
        "missing.yaml",  # sign-off file
        "no-such",  # unknown scenario
        "is a file",  # reports
        "'../up'",  # run id
        "--compress",
        "compres",  # a parameter the notebook declares that launchlib does not know
        "no notebook for phase T+15m",
        "LAUNCHLIB_TEST_UNSET_VARIABLE",
        "not reachable",
    ):
        assert expected in text, text
    proc = subprocess.run(
        [
            LAUNCHLIB,
            "rehearse",
            "--dry-run",
            "--scenario",
            "no-such",
            "--run-id",
            "../x",
            "--signoffs",
            "no.yaml",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 2 and proc.stderr.count("error: ") >= 3 and "Traceback" not in proc.stderr


def test_a_parameter_nobody_declared_fails_the_notebook(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            PAPERMILL,
            str(ROOT / "notebooks" / "T-6h.ipynb"),
            str(tmp_path / "out.ipynb"),
            "-p",
            "compres",
            "60",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "compres: not a parameter of this notebook" in proc.stderr and "compress" in proc.stderr


@pytest.mark.scenario
@pytest.mark.parametrize("scenario", ["clean", "latency-spike"])
def test_no_false_rollback_with_a_cpu_hog(tmp_path: Path, scenario: str) -> None:
    """The rehearsal with one core held by a hog of its own (the scenario tier runs nothing beside
    it); the hog must have held its core for most of the run, or the test proves nothing."""
    import psutil

    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    started = time.monotonic()
    try:
        _, m = rehearse(scenario, run_id=scenario, reports=tmp_path, console=Console(echo=lambda s: None))
        cpu = sum(psutil.Process(hog.pid).cpu_times()[:2])
    finally:
        hog.kill()
        hog.wait()
    took = time.monotonic() - started
    assert cpu > 0.7 * took, (cpu, took)  # the hog held a core
    pending = [e for e in read_events(tmp_path / scenario) if e.event == Event.POST_CHECKS_PENDING]
    # a hog slows the embedded service too: after the rollback it is judged against its own
    # baseline (taken under the same hog), so the verification stays in time and never false green
    assert m.scorecard.as_expected, (m.scorecard.mismatches, pending)


@pytest.mark.slow
def test_signals_are_not_inherited_by_kernels(tmp_path: Path) -> None:
    """A kernel runs in its own session: Ctrl-C on the terminal reaches the runner, not the kernel."""
    code = (
        "import os; from launchlib.runner.kernels import KernelPool\n"
        f"pool = KernelPool({str(tmp_path)!r}, warm=False); km = pool.take()\n"
        "print(os.getsid(km.provisioner.pid), os.getsid(0)); pool.release(km); pool.close()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=120
    )
    kernel, runner = proc.stdout.split()
    assert kernel != runner, proc.stderr


@pytest.mark.slow
def test_the_rollback_never_waits_for_a_kernel(tmp_path: Path) -> None:
    """A decision right after a phase began: the rollback's kernel was kept warm from the start,
    while the next phase's kernel is still starting. Timed against a kernel started cold here."""
    from launchlib.runner.kernels import start_kernel

    t0 = time.perf_counter()
    start_kernel(str(tmp_path), {}, str(tmp_path), warm=False).shutdown_kernel(now=True)
    cold = time.perf_counter() - t0
    pool = KernelPool(str(tmp_path), warm=False)
    try:
        first = pool.take()
        deadline = time.monotonic() + 120.0  # the reserved kernel has started (slow on a busy host)
        while pool._reserved is not None and not pool._reserved.done() and time.monotonic() < deadline:
            time.sleep(0.1)
        phase = pool.take()
        t0 = time.perf_counter()
        rollback = pool.take(reserved=True)
        took = time.perf_counter() - t0
        assert rollback is not phase and rollback is not first and rollback.is_alive()
        assert took < cold / 4, (took, cold)  # handed over, not started
        after = pool.take(reserved=True)  # kept once: after that, the next one as usual
        assert after.is_alive() and after is not rollback
        for km in (first, phase, rollback, after):
            pool.release(km)
    finally:
        pool.close()


@pytest.mark.slow
def test_a_warm_kernel_has_its_imports_and_full_priority(tmp_path: Path) -> None:
    """The warm-up imports ran (niced, in a thread of their own) and left the kernel itself at the
    runner's priority and its namespace clean."""
    from launchlib.runner.kernels import start_kernel

    km = start_kernel(str(tmp_path), {}, str(tmp_path), warm=True)
    km.client_class = "jupyter_client.blocking.BlockingKernelClient"  # papermill gets an async one
    kc = km.client()
    kc.start_channels()
    out: list[str] = []
    try:
        kc.wait_for_ready(timeout=60)
        code = (
            "import os, sys; print(os.getpriority(os.PRIO_PROCESS, 0), 'plotly' in sys.modules,"
            " '_warm' in dir())"
        )
        kc.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "".join(out).split() == ["0", "True", "False"], out
