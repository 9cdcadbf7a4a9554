"""Seal and verify: a sealed run's tarball names every file changed, missing or added; a sealed
run takes no further appends; bad input is one line and exit 2."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, ROOT

from launchlib.errors import RunError
from launchlib.runfolder.events import Event, read_events, record_event
from launchlib.runfolder.folder import Manifest, write_manifest
from launchlib.runfolder.seal import seal, verify
from launchlib.signoff.ledger import Ledger


def _finished_run(reports: Path, outcome: str = "rolled back") -> Path:
    run = reports / "launch-1"
    (run / "samples").mkdir(parents=True)
    m = Manifest(run_id=run.name, target="http://127.0.0.1:1", plan_hash="x", compress=30.0, started=1.0)
    m.outcome = outcome
    write_manifest(run, m)
    (run / "plan.yaml").write_text((ROOT / "parameters" / "plan.yaml").read_text())
    record_event(run, Event.DEPLOYED, at=10.0, release="v2")
    (run / "samples" / "part-00001.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40)
    Ledger(run / "ledger.sqlite", run.name).append(
        "T-1h", "final_system_check", role="devops_lead", person="Maya", state="done"
    )
    return run


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAUNCHLIB, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _rebundle(src: Path, bundle: Path) -> None:
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(src, arcname=src.name)


def test_seal_then_verify_round_trip(tmp_path: Path) -> None:
    run = _finished_run(tmp_path / "reports")
    bundle = seal(run, ROOT / "notebooks")
    assert bundle == tmp_path / "reports" / "launch-1.tar.gz" and (run / "SEAL.json").exists()
    found = verify(bundle)
    assert found.intact and found.files == 5, found  # manifest, plan, events, samples part, ledger
    assert found.seal["plan_sha256"] and "T-0.ipynb" in found.seal["notebooks_sha256"]
    assert verify(run).intact  # the folder itself verifies too


def test_tampering_is_named(tmp_path: Path) -> None:
    run = _finished_run(tmp_path / "reports")
    seal(run)
    out = tmp_path / "out"
    with tarfile.open(run.with_name("launch-1.tar.gz")) as tar:
        tar.extractall(out, filter="data")
    copy = out / "launch-1"
    part = copy / "samples" / "part-00001.parquet"
    data = bytearray(part.read_bytes())
    data[100] ^= 0x01  # one byte
    part.write_bytes(bytes(data))
    (copy / "notes.txt").write_text("added later")
    (copy / "events.jsonl").unlink()
    _rebundle(copy, tmp_path / "tampered.tar.gz")
    found = verify(tmp_path / "tampered.tar.gz")
    assert not found.intact
    assert (found.changed, found.missing, found.added) == (
        ["samples/part-00001.parquet"],
        ["events.jsonl"],
        ["notes.txt"],
    )
    res = _cli("verify", str(tmp_path / "tampered.tar.gz"), cwd=tmp_path)
    assert res.returncode == 1, res
    assert res.stdout.splitlines() == [
        "launch-1: changed: samples/part-00001.parquet",
        "launch-1: missing: events.jsonl",
        "launch-1: added: notes.txt",
    ]
    assert _cli("verify", str(run.with_name("launch-1.tar.gz")), cwd=tmp_path).returncode == 0


def test_a_sealed_run_refuses_appends(tmp_path: Path) -> None:
    run = _finished_run(tmp_path / "reports")
    seal(run)
    before = (run / "events.jsonl").read_bytes()
    with pytest.raises(RunError, match="sealed"):
        record_event(run, Event.INTERRUPT, reason="late")
    with pytest.raises(RunError, match="sealed"):
        Ledger(run / "ledger.sqlite", run.name).append("T-1h", "x", role="r", person="p", state="done")
    with pytest.raises(RunError, match="sealed"):
        seal(run)
    assert (run / "events.jsonl").read_bytes() == before and len(read_events(run)) == 1
    assert verify(run).intact


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    running = _finished_run(reports, outcome="running")
    res = _cli("seal", "launch-1", "--reports", str(reports), cwd=tmp_path)
    assert res.returncode == 2 and not (running / "SEAL.json").exists()
    assert res.stderr.strip().splitlines() == [
        f"error: {running}/manifest.json: outcome: the run is still running; seal it when it has ended"
    ]
    for args, said in [
        (("seal", "nope", "--reports", str(reports)), "nope: no run folder"),
        (("verify", str(tmp_path / "missing.tar.gz")), "no such bundle or run folder"),
        (("verify", str(running)), "no SEAL.json: not a sealed run"),
    ]:
        res = _cli(*args, cwd=tmp_path)
        assert res.returncode == 2 and said in res.stderr and len(res.stderr.strip().splitlines()) == 1, res
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    res = _cli("verify", str(tmp_path / "junk.tar.gz"), cwd=tmp_path)
    assert res.returncode == 2 and "not a readable tarball" in res.stderr, res
