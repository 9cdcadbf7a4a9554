"""Dead parts end the run loudly: a killed kernel, a hung cell, a stopped kernel and a signal.

Real processes throughout: the CLI as a subprocess whose kernels are SIGKILLed or SIGSTOPped
by PID (found as the runner's children), and in-process rehearsals whose kernel pool is reached
through a subclass that remembers it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import ClassVar

import psutil
import pytest
import yaml
from conftest import LAUNCHLIB, PLAN_PATH, ROOT, cli_env, wait_until

from launchlib.runfolder.events import Event, event_time, read_events
from launchlib.runfolder.folder import read_manifest
from launchlib.runner import rehearse as rehearse_module
from launchlib.runner.console import Console
from launchlib.runner.kernels import KernelPool, how_it_ended, kill_kernel
from launchlib.runner.rehearse import exit_code, rehearse


def _kernels(pid: int) -> list[psutil.Process]:
    """The runner's kernel processes (children running ipykernel), by PID."""
    kids = psutil.Process(pid).children(recursive=True)
    return [k for k in kids if "ipykernel" in " ".join(k.cmdline())]


def _start(reports: Path, run_id: str, scenario: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LAUNCHLIB, "rehearse", "--scenario", scenario, "--run-id", run_id, "--reports", str(reports)],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _signal_kernels(proc: subprocess.Popen[str], when, sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    """Once ``when()`` holds, send ``sig`` to every kernel of the runner (the run killed on failure)."""
    try:
        wait_until(when, 240, "the moment to signal the kernels")
        kernels = _kernels(proc.pid)
        assert kernels, "no kernel to signal"
        for k in kernels:
            k.send_signal(sig)
    except BaseException:
        proc.kill()
        raise


def _end(proc: subprocess.Popen[str], timeout_s: float) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, time.monotonic() - started


@pytest.mark.slow
def test_a_killed_kernel_mid_watch_ends_the_run_loudly(tmp_path: Path) -> None:
    """Every kernel of a clean rehearsal SIGKILLed after T-0: exit 3 within an evaluation interval
    and a few seconds, the phase failed with how its kernel ended, nothing recorded lost."""
    run_dir = tmp_path / "dead"
    proc = _start(tmp_path, "dead", "clean")
    try:
        wait_until(lambda: event_time(run_dir, Event.DEPLOYED) is not None, 180, "the deploy")
        time.sleep(2.0)
        kernels = _kernels(proc.pid)
        assert len(kernels) >= 2, kernels  # the running one and the warm or reserved ones
        for k in kernels:
            k.send_signal(signal.SIGKILL)
    except BaseException:
        proc.kill()
        raise
    rc, out, took = _end(proc, 60)
    assert rc == 3, out
    assert took < 20, (took, out)  # one evaluation interval (0.33 s at 30×) and the report
    m = read_manifest(run_dir)
    assert m.outcome.startswith("error: kernel died (signal 9) during T"), m.outcome
    assert m.error is not None and m.finished and m.scorecard.not_scored
    last = m.phases[-1]
    assert last.status == "failed" and last.reason.startswith("kernel died (signal 9)"), last
    events = read_events(run_dir)
    assert any(e.event == Event.KERNEL_DIED for e in events)
    assert [e.event for e in events].count(Event.DEPLOYED) == 1
    assert len(list((run_dir / "samples").glob("part-*.parquet"))) >= 2  # the watch's samples kept
    assert (run_dir / f"{last.phase}.ipynb").exists() and (run_dir / "report.html").exists()
    assert "FAILED kernel died (signal 9)" in out and "Traceback" not in out
    assert out.rstrip().splitlines()[-1].startswith("report: ")


@pytest.mark.slow
def test_a_dead_waiting_kernel_is_replaced_and_never_handed_out(tmp_path: Path) -> None:
    """The reserved rollback kernel and the warm one killed while they wait: ``watch`` says so and
    starts others; ``take`` never hands out a dead kernel."""
    pool = KernelPool(str(tmp_path), warm=False)
    try:
        for fut in (pool._next, pool._reserved):
            assert fut is not None
            kill_kernel(fut.result(timeout=120))
        wait_until(lambda: not pool._next.result().is_alive(), 10, "the kill")
        rollback = pool.take(reserved=True)  # the reserved one is dead: a live one instead
        assert rollback.is_alive()
        said = pool.watch()
        assert said == ["the warm kernel ended (signal 9): replaced"], said
        phase = pool.take()
        assert phase.is_alive() and phase is not rollback
        kill_kernel(phase)
        wait_until(lambda: pool.current_death() is not None, 10, "the running kernel's death")
        assert pool.current_death() == "signal 9" == how_it_ended(phase)
        for km in (rollback, phase):
            pool.release(km)
    finally:
        pool.close()


class _KeptPool(KernelPool):
    """A KernelPool the test can reach while an in-process rehearsal runs."""

    made: ClassVar[list[KernelPool]] = []

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        _KeptPool.made.append(self)


@pytest.mark.scenario
def test_a_retried_phase_and_a_dead_reserved_kernel_still_roll_back_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan retries T-12h on a fresh kernel when its kernel dies; the reserved rollback kernel
    is killed before the decision: the rollback runs on a fresh one, in time, as expected."""
    data = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
    next(p for p in data["phases"] if p["id"] == "T-12h")["retry_on_kernel_death"] = True
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    _KeptPool.made = []
    monkeypatch.setattr(rehearse_module, "KernelPool", _KeptPool)
    run_dir = tmp_path / "reports" / "spike"

    def kill() -> None:
        wait_until(lambda: (run_dir / "T-12h.ipynb").exists(), 120, "T-12h")
        time.sleep(1.0)
        pool = _KeptPool.made[0]
        assert pool.current is not None
        kill_kernel(pool.current)  # the phase's own kernel, mid-load-test
        wait_until(lambda: event_time(run_dir, Event.DEPLOYED) is not None, 120, "the deploy")
        reserved = pool._reserved
        assert reserved is not None
        kill_kernel(reserved.result(timeout=60))

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    lines: list[str] = []
    _, m = rehearse(
        "latency-spike",
        run_id="spike",
        reports=tmp_path / "reports",
        plan_path=plan,
        console=Console(lines.append),
    )
    killer.join(timeout=5)
    assert m.scorecard is not None and m.scorecard.as_expected, (m.scorecard, lines)
    events = read_events(run_dir)
    retried = [e for e in events if e.event == Event.PHASE_RETRIED]
    assert [e.phase for e in retried] == ["T-12h"] and "signal 9" in retried[0].reason
    assert (run_dir / "T-12h.attempt-1.ipynb").exists() and (run_dir / "T-12h.ipynb").exists()
    replaced = [e.reason for e in events if e.event == Event.KERNEL_REPLACED]
    assert any("reserved rollback kernel ended (signal 9)" in r for r in replaced), replaced
    assert m.rollback is not None and m.rollback.checks_green
    assert any("running T-12h once more on a fresh kernel" in line for line in lines), lines


@pytest.mark.scenario
def test_a_kernel_killed_mid_rollback_ends_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "rb"
    proc = _start(tmp_path, "rb", "latency-spike")
    _signal_kernels(proc, lambda: event_time(run_dir, Event.ROLLBACK_STARTED) is not None, signal.SIGKILL)
    rc, out, took = _end(proc, 60)
    assert rc == 3 and took < 20, (rc, took, out)
    m = read_manifest(run_dir)
    assert m.outcome == "error: kernel died (signal 9) during rollback", m.outcome
    assert [p.status for p in m.phases if p.phase == "rollback"] == ["failed"]
    assert event_time(run_dir, Event.ROLLBACK_STARTED) is not None  # what it had done is kept


@pytest.mark.scenario
def test_sigint_while_the_phase_kernel_is_stopped_ends_the_run(tmp_path: Path) -> None:
    """A kernel that cannot answer (SIGSTOP: alive, deaf): the interrupt goes unanswered, the
    supervisor kills it after its grace, and the signal ends the run as interrupted."""
    run_dir = tmp_path / "hung"
    proc = _start(tmp_path, "hung", "clean")
    _signal_kernels(proc, lambda: event_time(run_dir, Event.DEPLOYED) is not None, signal.SIGSTOP)
    proc.send_signal(signal.SIGINT)
    rc, out, took = _end(proc, 60)
    assert rc == 3 and took < 20, (rc, took, out)
    m = read_manifest(run_dir)
    assert m.outcome.startswith("interrupted by SIGINT at T+"), m.outcome
    events = [e.event for e in read_events(run_dir)]
    assert Event.INTERRUPT in events and Event.KERNEL_KILLED in events, events


@pytest.mark.scenario
def test_a_cell_that_never_returns_fails_its_phase_at_the_timeout(tmp_path: Path) -> None:
    """T-6h with a cell that ignores Ctrl-C and sleeps: stopped at the plan's timeout, killed when
    it does not answer, failed with that reason; the run is broken (exit 3), its record kept."""
    books = tmp_path / "notebooks"
    subprocess.run(["cp", "-r", str(ROOT / "notebooks"), str(books)], check=True)
    nb = json.loads((books / "T-6h.ipynb").read_text())
    hang = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)"
    nb["cells"][2]["source"] = hang + "\n" + "".join(nb["cells"][2]["source"])
    (books / "T-6h.ipynb").write_text(json.dumps(nb))
    data = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
    next(p for p in data["phases"] if p["id"] == "T-6h")["timeout_s"] = 60  # launch s: 2 real s at 30×
    data["monitoring"]["phase_slack_s"] = 2.0
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    started = time.monotonic()
    run_dir, m = rehearse("clean", run_id="hang", reports=tmp_path, plan_path=plan, notebooks=books)
    assert time.monotonic() - started < 120
    assert m.outcome == "error: phase T-6h ran past its timeout of 4 s", m.outcome
    assert exit_code(m) == 3 and m.scorecard.not_scored
    assert [(p.phase, p.status) for p in m.phases][-1] == ("T-6h", "failed")
    events = [e.event for e in read_events(run_dir)]
    assert Event.PHASE_TIMEOUT in events and Event.KERNEL_KILLED in events, events
    assert read_manifest(run_dir).outcome == m.outcome and (run_dir / "T-6h.ipynb").exists()
    assert not _kernels(os.getpid())  # the hung kernel is gone, and so is every other
