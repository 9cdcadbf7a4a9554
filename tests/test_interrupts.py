"""Nothing lost: real signals to a rehearsal, a SIGKILLed runner repaired, run data only appended."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, ROOT, cli_env, wait_until

from launchlib.runfolder.events import event_time
from launchlib.runfolder.folder import read_manifest


def _start(reports: Path, run_id: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [LAUNCHLIB, "rehearse", "--scenario", "clean", "--run-id", run_id, "--reports", str(reports)],
            cwd=ROOT,
            env=cli_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(signal.SIGINT, id="SIGINT", marks=pytest.mark.slow),
        pytest.param(signal.SIGTERM, id="SIGTERM", marks=pytest.mark.scenario),  # the same path
    ],
)
def test_a_signal_ends_the_rehearsal_in_a_known_state(tmp_path: Path, sig: signal.Signals) -> None:
    run_dir, log = tmp_path / "sig", tmp_path / "console.txt"
    proc = _start(tmp_path, "sig", log)
    try:
        wait_until(lambda: event_time(run_dir, "deployed") is not None, 120, "the deploy")
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(sig)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 20  # the phase is interrupted, not waited for
    assert rc == 3, log.read_text()
    m = read_manifest(run_dir)
    assert m.outcome.startswith(f"interrupted by {sig.name} at T+"), m.outcome
    assert "during T-0" in m.outcome and m.finished and m.scorecard.not_scored
    assert [p.phase for p in m.phases][:4] == ["T-24h", "T-12h", "T-6h", "T-1h"]
    assert all((run_dir / f"{p}.html").exists() for p in ("T-24h", "T-12h", "T-6h", "T-1h"))
    assert "sig" in (tmp_path / "index.html").read_text() and (run_dir / "report.html").exists()
    assert json.loads((run_dir / "monitor.json").read_text())["state"] == "stopped"
    assert "Traceback" not in log.read_text() and "report: " in log.read_text()


@pytest.mark.slow
def test_a_killed_runner_leaves_a_run_that_the_next_command_repairs(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    proc = _start(tmp_path, "killed", tmp_path / "console.txt")
    try:
        wait_until(lambda: (run_dir / "T-12h.ipynb").exists(), 120, "T-12h")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert read_manifest(run_dir).outcome == "running"  # nobody could write anything else
    status = subprocess.run(
        [LAUNCHLIB, "signoff", "status", "killed", "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert status.returncode == 0, status.stderr
    m = read_manifest(run_dir)
    assert m.outcome.startswith("interrupted: the runner (pid ") and m.finished
    assert (run_dir / "T-24h.html").exists() and (run_dir / "report.html").exists()
    again = subprocess.run(
        [LAUNCHLIB, "runs", "repair", "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert again.returncode == 0 and again.stdout.strip() == "no stale run"
    assert "killed" in (tmp_path / "index.html").read_text()


def _hashes(folder: Path) -> dict[str, str]:
    """Every recorded file of a run (``monitor.json`` is a live status, rewritten by design)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "monitor.json" and not p.name.startswith((".", "ledger.sqlite"))
    }


def _monitor(reports: Path, url: str, until) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """``launchlib monitor`` until ``until(lines so far)`` holds (polled, 60 s at most), then Ctrl-C."""
    proc = subprocess.Popen(
        [LAUNCHLIB, "monitor", "--run-id", "day", "--target", url, "--reports", str(reports), "--rate", "50"],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_until(lambda: until(lines), 60, "the monitor")
    finally:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    reader.join(timeout=10)
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), err)


def _parts(run_dir: Path, at_least: int):  # type: ignore[no-untyped-def]
    return lambda _lines: len(list((run_dir / "samples").glob("part-*.parquet"))) >= at_least


@pytest.mark.slow
def test_a_restarted_monitor_and_a_phase_only_append(tmp_path: Path, sim) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "day"
    first = _monitor(tmp_path, sim.url, _parts(run_dir, 2))
    assert first.returncode == 0, first.stderr
    before = _hashes(run_dir)
    parts = sorted(p.name for p in (run_dir / "samples").glob("part-*.parquet"))
    assert len(parts) >= 2
    second = _monitor(tmp_path, sim.url, _parts(run_dir, len(parts) + 2))
    assert second.returncode == 0, second.stderr
    after = _hashes(run_dir)
    assert {k: after[k] for k in before} == before  # nothing earlier replaced
    new_parts = sorted(p.name for p in (run_dir / "samples").glob("part-*.parquet"))
    assert new_parts[: len(parts)] == parts and len(new_parts) > len(parts)
    phase = subprocess.run(
        [LAUNCHLIB, "run-phase", "T-6h", "--run-id", "day", "--target", sim.url, "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=300,
    )
    # a healthy target, and nobody signed: T-6h's manual items are open, a finding (exit 1)
    assert phase.returncode == 1 and "open items: team_on_standby" in phase.stdout, (
        phase.stdout + phase.stderr
    )
    final = _hashes(run_dir)
    assert {k: final[k] for k in after} == after


@pytest.mark.slow
def test_a_second_live_monitor_is_refused(tmp_path: Path, sim) -> None:  # type: ignore[no-untyped-def]
    args = [LAUNCHLIB, "monitor", "--run-id", "day", "--target", sim.url, "--reports", str(tmp_path)]
    first = subprocess.Popen(args, cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (tmp_path / "day" / "monitor.json").exists(), 30, "the first monitor")
        second = subprocess.run(args, capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60)
        assert second.returncode == 2 and "already watching this run" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)


@pytest.mark.slow
def test_a_monitor_against_a_dead_target_says_so(tmp_path: Path) -> None:
    out = _monitor(tmp_path, "http://127.0.0.1:1", lambda lines: any("not answering" in x for x in lines))
    assert "warning: http://127.0.0.1:1 is not answering" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_a_restarted_monitor_never_decides_twice(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    """A run that already has its rollback decision: a new monitor records firings as noise only."""
    from launchlib.launch.monitor import Monitor
    from launchlib.probing.target import Target
    from launchlib.runfolder.events import append_jsonl, record_event
    from launchlib.runfolder.records import DecisionRecord, FiringRecord, read_decisions
    from launchlib.simulator.app import SimConfig
    from launchlib.simulator.scenarios import Fault
    from launchlib.simulator.server import SimServer

    breach = Fault(kind="security_breach", binding="infrastructure", start_s=0)
    with SimServer(config=SimConfig(restart_s=0.0, compress=30.0), faults=[breach]) as srv:
        srv.command("arm", t0=time.time(), compress=30.0)
        earlier = DecisionRecord(
            decision="rollback",
            tier="immediate",
            decided_at=time.time(),
            recorded_at=time.time(),
            triggers=[],
        )
        append_jsonl(tmp_path / "decisions.jsonl", earlier.model_dump(mode="json"))
        record_event(tmp_path, "deployed")
        mon = Monitor(plan, Target(srv.url), tmp_path, compress=30.0).start()
        wait_until(
            lambda: any(isinstance(r, FiringRecord) for r in read_decisions(tmp_path)),
            30,
            "a firing",
        )
        mon.stop()
    recs = read_decisions(tmp_path)
    assert sum(isinstance(r, DecisionRecord) for r in recs) == 1  # only the earlier one
    assert all(r.after_decision for r in recs if isinstance(r, FiringRecord))
