"""The sign-off ledger, who may sign what, headless sign-off files, gates and the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, ROOT, cli_env

from launchlib.errors import LedgerError, PlanError
from launchlib.signoff.gates import evaluate_gate, go_no_go
from launchlib.signoff.ledger import Ledger, SignState
from launchlib.signoff.rules import apply_signoffs, load_signoffs, record_check, sign

WRITER = """
import sys
from launchlib.signoff.ledger import Ledger
led = Ledger(sys.argv[1], "run")
for n in range(int(sys.argv[3])):
    led.append("T-1h", f"{sys.argv[2]}-{n}", role="launch_commander", person=sys.argv[2], state="done")
"""


def test_history_and_current_state_unsign_is_a_new_event(tmp_path: Path, plan) -> None:
    led = Ledger.in_run(tmp_path, "r1")
    sign(led, plan, "T-1h", "team_assembled_in_war_room", role="Launch Commander", person="Sarah Chen")
    sign(
        led,
        plan,
        "T-1h",
        "team_assembled_in_war_room",
        role="launch_commander",
        person="Sarah Chen",
        state="open",
    )
    hist = led.history(item="team_assembled_in_war_room")
    assert [e.state for e in hist] == [SignState.DONE, SignState.OPEN]
    assert led.current()[("T-1h", "team_assembled_in_war_room")].state is SignState.OPEN
    assert hist[0].role == "launch_commander" and hist[0].ts.endswith("+00:00")
    with sqlite3.connect(led.path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET state = 'done'")


def test_only_owner_or_commander_may_sign(tmp_path: Path, plan) -> None:
    led = Ledger.in_run(tmp_path, "r1")
    with pytest.raises(LedgerError, match="owned by trading_lead; security_officer may not sign"):
        sign(led, plan, "T+24h", "trading_performance_review", role="security_officer", person="X")
    sign(led, plan, "T+24h", "trading_performance_review", role="trading_lead", person="Y")
    sign(led, plan, "T+24h", "trading_performance_review", role="launch_commander", person="Z")
    with pytest.raises(LedgerError, match="not a role of the plan"):
        sign(led, plan, "T-1h", "team_assembled_in_war_room", role="intern", person="Q")
    with pytest.raises(LedgerError, match="no item 'nope' in phase T-1h"):
        sign(led, plan, "T-1h", "nope", role="launch_commander", person="Q")
    assert len(led.history()) == 2


def test_automated_items_need_a_waiver_with_reason(tmp_path: Path, plan) -> None:
    led = Ledger.in_run(tmp_path, "r1")
    with pytest.raises(LedgerError, match="automated check 'health'"):
        sign(led, plan, "T-1h", "final_system_check", role="launch_commander", person="S")
    with pytest.raises(LedgerError, match="waiver needs a reason"):
        sign(led, plan, "T-1h", "final_system_check", role="launch_commander", person="S", state="waived")
    sign(
        led,
        plan,
        "T-1h",
        "final_system_check",
        role="launch_commander",
        person="S",
        state="waived",
        comment="checked by hand on the console",
    )
    gate = evaluate_gate(plan, led, ["T-1h"], name="t")
    assert "T-1h/final_system_check" not in {f"{s.phase}/{s.item}" for s in gate.open_items}


def test_concurrent_writers_from_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path, "run")
    procs = [
        subprocess.Popen([str(Path(LAUNCHLIB).with_name("python")), "-c", WRITER, str(path), who, "150"])
        for who in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    hist = Ledger(path, "run").history()
    assert len(hist) == 300 and len({e.seq for e in hist}) == 300
    assert sorted(e.item for e in hist if e.person == "a") == sorted(f"a-{n}" for n in range(150))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupt_or_foreign_ledger_is_refused_and_left_alone(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    before = junk.read_bytes()
    with pytest.raises(LedgerError, match=r"junk\.sqlite: not a usable sign-off ledger"):
        Ledger(junk, "r")
    assert junk.read_bytes() == before
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    with pytest.raises(LedgerError, match="not a launchlib ledger"):
        Ledger(foreign, "r")


def test_go_no_go_gate_and_signoff_file(tmp_path: Path, plan) -> None:
    led = Ledger.in_run(tmp_path, "r1")
    offs = load_signoffs(ROOT / "parameters/signoffs/rehearsal.yaml", plan)
    gate = go_no_go(plan, led)
    assert not gate.go and len(gate.open_items) == 20
    for phase in ("T-24h", "T-12h", "T-6h", "T-1h"):
        apply_signoffs(led, plan, offs, phase, skip=["T-1h/rollback_team_on_standby"])
        for it in plan.phase(phase).items:
            if it.check:
                record_check(led, phase, it.id, True, "ok")
    gate = go_no_go(plan, led)
    assert not gate.go
    assert [f"{s.phase}/{s.item}" for s in gate.open_items] == ["T-1h/rollback_team_on_standby"]
    assert "Rollback team on standby" in gate.reasons()[0]
    sign(led, plan, "T-1h", "rollback_team_on_standby", role="launch_commander", person="Sarah Chen")
    assert go_no_go(plan, led).go
    record_check(led, "T-24h", "backup_verification", False, "digests differ")
    assert [s.item for s in go_no_go(plan, led).open_items] == ["backup_verification"]


def test_malformed_signoff_file_names_file_and_field(tmp_path: Path, plan) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("trading_lead:\n  - T+24h/security_assessment\nnobody:\n  - T-1h/x\n")
    with pytest.raises(PlanError) as err:
        load_signoffs(bad, plan)
    lines = err.value.lines()
    assert any("s.yaml:2: trading_lead[0]:" in ln and "owned by security_officer" in ln for ln in lines)
    assert any("s.yaml:3: nobody:" in ln for ln in lines)


def test_cli_sign_and_status(tmp_path: Path) -> None:
    env = cli_env()
    (tmp_path / "r1").mkdir()
    base = [LAUNCHLIB, "signoff"]
    opts = ["--reports", str(tmp_path), "--plan", str(ROOT / "parameters/plan.yaml")]
    ok = subprocess.run(
        [*base, "r1", "T-1h", "team_assembled_in_war_room", "--role", "CTO", "--by", "Sarah Chen", *opts],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "T-1h/team_assembled_in_war_room done by Sarah Chen (launch_commander)" in ok.stdout
    refused = subprocess.run(
        [*base, "r1", "T+5m", "verify_trading_connectivity", "--role", "risk_manager", "--by", "R", *opts],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 2 and "owned by trading_lead" in refused.stderr
    missing = subprocess.run(
        [*base, "nope", "T-1h", "x", "--role", "CTO", "--by", "S", *opts],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 2 and "no such run folder" in missing.stderr
    st = subprocess.run([*base, "status", "r1", *opts], capture_output=True, text=True, env=env)
    assert st.returncode == 0, st.stderr
    assert "team_assembled_in_war_room" in st.stdout and "Sarah Chen" in st.stdout and "NO-GO" in st.stdout


def test_signoff_page_notebook_and_its_refusals(tmp_path: Path) -> None:
    import nbformat

    from launchlib.errors import RunError
    from launchlib.signoff.page import page_notebook, run_checklist

    run = tmp_path / "r1"
    run.mkdir()
    nb = page_notebook(run, ["T+24h"], ROOT / "parameters/plan.yaml")
    nbformat.validate(nb)
    [code] = [c for c in nb.cells if c.cell_type == "code"]
    ns: dict[str, object] = {}
    exec(code.source.replace("page.run_checklist", "result = page.run_checklist"), ns)  # what Voilà runs
    box = ns["result"]
    assert box.phases == ["T+24h"] and not box.gate().go  # type: ignore[attr-defined]
    assert run_checklist(run).gate_name == "go/no-go"
    with pytest.raises(RunError, match="--phase: no phase 'T\\+99h'"):
        run_checklist(run, ["T+99h"])
    opts = ["--reports", str(tmp_path), "--plan", str(ROOT / "parameters/plan.yaml")]
    for args, message in ((["nope"], "no such run folder"), (["r1", "--phase", "X"], "no phase 'X'")):
        bad = subprocess.run(
            [LAUNCHLIB, "signoff", "page", *args, *opts], capture_output=True, text=True, env=cli_env()
        )
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_cli_waive_block_unsign(tmp_path: Path) -> None:
    env = cli_env()
    (tmp_path / "r2").mkdir()
    opts = ["--reports", str(tmp_path), "--plan", str(ROOT / "parameters/plan.yaml")]
    item = ["r2", "T-24h", "backup_verification", "--role", "CTO", "--by", "Sarah Chen"]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LAUNCHLIB, "signoff", *item, *extra, *opts], capture_output=True, text=True, env=env
        )

    assert run("--waive", "").returncode == 2  # a waiver needs a reason
    waived = run("--waive", "restore drill done by hand on the replica")
    assert waived.returncode == 0 and "backup_verification waived by Sarah Chen" in waived.stdout
    blocked = run("--block", "--comment", "replica lagging")
    assert blocked.returncode == 0 and "blocked" in blocked.stdout
    unsigned = run("--unsign")
    assert unsigned.returncode == 0 and " open " in unsigned.stdout
    from launchlib.signoff.ledger import Ledger

    states = [e.state for e in Ledger.in_run(tmp_path / "r2").history("T-24h")]
    assert [str(s) for s in states] == ["waived", "blocked", "open"]


def test_a_renamed_run_folder_keeps_its_signoffs(tmp_path: Path) -> None:
    """A run's identity is its manifest's run id, not its folder's name."""
    env = cli_env()
    run = tmp_path / "launch-1"
    run.mkdir()
    (run / "manifest.json").write_text(
        json.dumps(
            {"version": 1, "run_id": "launch-1", "target": "x", "plan_hash": "h", "compress": 1, "started": 0}
        )
    )
    opts = ["--reports", str(tmp_path), "--plan", str(ROOT / "parameters/plan.yaml")]
    item = ["T-1h", "team_assembled_in_war_room", "--role", "CTO", "--by", "Sarah Chen"]
    ok = subprocess.run(
        [LAUNCHLIB, "signoff", "launch-1", *item, *opts], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    run.rename(tmp_path / "launch-1-archived")
    st = subprocess.run(
        [LAUNCHLIB, "signoff", "status", "launch-1-archived", "--phase", "T-1h", *opts],
        capture_output=True,
        text=True,
        env=env,
    )
    assert st.returncode == 0, st.stderr
    line = next(ln for ln in st.stdout.splitlines() if "team_assembled_in_war_room" in ln)
    assert "Sarah Chen" in line and "done" in line, st.stdout
