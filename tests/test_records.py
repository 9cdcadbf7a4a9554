"""Typed records: what the monitor writes reads back as the same record; a bad line is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchlib.errors import RunError
from launchlib.plan.model import Tier
from launchlib.runfolder.folder import Manifest, read_manifest, write_manifest
from launchlib.runfolder.records import (
    DecisionRecord,
    Evidence,
    Firing,
    FiringRecord,
    Scorecard,
    read_decisions,
    rollback_decision,
)

EV = Evidence(
    value=0.12, op=">", threshold=0.05, window_start=10.0, window_end=40.0, samples=300, first_true=30.0
)


def _firing(tid: str = "error_rate", tier: str = "fast", at: float = 40.0) -> FiringRecord:
    return FiringRecord(id=tid, tier=Tier(tier), first_at=at, recorded_at=at + 0.1, evidence=EV)


def _write(run: Path, *lines: dict[str, object] | str) -> None:
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines)
    (run / "decisions.jsonl").write_text(text, encoding="utf-8")


def test_firings_and_decisions_round_trip(tmp_path: Path) -> None:
    fired = _firing()
    decided = DecisionRecord(
        decision="rollback",
        tier=Tier.FAST,
        decided_at=70.0,
        recorded_at=70.1,
        triggers=[Firing(id=fired.id, tier=fired.tier, first_at=fired.first_at, evidence=EV)],
    )
    _write(tmp_path, fired.model_dump(mode="json"), decided.model_dump(mode="json"))
    recs = read_decisions(tmp_path)
    assert recs == [fired, decided]
    assert rollback_decision(tmp_path) == decided and decided.causes == ["error_rate"]
    line = json.loads((tmp_path / "decisions.jsonl").read_text().splitlines()[0])
    assert line["v"] == 1 and line["type"] == "firing" and line["tier"] == "fast"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tier": "urgent"}, "firing.tier"),  # tiers are the plan's, never any string
        ({"first_at": "soon"}, "firing.first_at"),
        ({"surprise": 1}, "firing.surprise"),  # a typo is refused, not carried along
        ({"type": "verdict"}, "type"),
    ],
)
def test_a_malformed_line_names_the_file_line_and_field(tmp_path: Path, change: dict, field: str) -> None:
    good = _firing().model_dump(mode="json")
    _write(tmp_path, good, {**good, **change})
    with pytest.raises(RunError) as err:
        read_decisions(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'decisions.jsonl'}:2: ") and field.split(".")[-1] in msg, msg


def test_a_record_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, {**_firing().model_dump(mode="json"), "v": 2})
    with pytest.raises(RunError, match=r"decisions.jsonl:1: v 2 is not 1"):
        read_decisions(tmp_path)


def test_the_manifest_keeps_its_records_typed(tmp_path: Path) -> None:
    m = Manifest(run_id="r", target="http://127.0.0.1:1", plan_hash="x", compress=30.0, started=1.0)
    m.decisions = [_firing()]
    m.scorecard = Scorecard(tier=Tier.IMMEDIATE, triggers=["unavailable"], rollback=True, as_expected=True)
    write_manifest(tmp_path, m)
    back = read_manifest(tmp_path)
    assert back.scorecard == m.scorecard and back.decisions == m.decisions
    assert isinstance(back.decisions[0], FiringRecord) and back.scorecard.tier is Tier.IMMEDIATE
    # a run that never reached scoring recorded an empty scorecard: that reads as none, not as zeros
    raw = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**raw, "scorecard": {}}))
    assert read_manifest(tmp_path).scorecard is None
    (tmp_path / "manifest.json").write_text(json.dumps({**raw, "scorecard": {"tier": "soon"}}))
    with pytest.raises(RunError, match=r"manifest.json: scorecard.tier: "):
        read_manifest(tmp_path)


def test_an_outcome_reads_as_its_kind_and_says_whether_the_run_broke() -> None:
    from launchlib.runfolder.folder import Outcome

    assert Outcome.of("error: kernel died (signal 9) during T+5m") is Outcome.ERROR
    assert Outcome.of("interrupted by SIGINT at T+1m02s during T-0") is Outcome.INTERRUPTED
    assert Outcome.of("rolled back") is Outcome.ROLLED_BACK and not Outcome.ROLLED_BACK.broken
    assert Outcome.of("launched with findings") is Outcome.LAUNCHED_WITH_FINDINGS
    assert Outcome.of("something else") is Outcome.ERROR  # never read as a success
    assert [o.value for o in Outcome if o.broken] == ["running", "error", "interrupted"]


def test_timeline_events_are_typed_and_versioned(tmp_path: Path) -> None:
    """Events read back as records; a line of the previous version (no ``v``) still reads, a newer
    version or an unknown kind is named with its file and line."""
    from launchlib.runfolder.events import EVENT_VERSION, Event, first_event, read_events, record_event

    (tmp_path / "events.jsonl").write_text(
        json.dumps({"event": "deployed", "at": 10.0, "release": "v2"}) + "\n"
    )
    record_event(tmp_path, Event.PHASE_FINISHED, at=12.0, phase="T-0", status="passed")
    old, new = read_events(tmp_path)
    assert (old.v, old.event, old.at, old.info("release")) == (1, Event.DEPLOYED, 10.0, "v2")
    assert (new.v, new.phase, new.info("status"), new.info("absent", "-")) == (
        EVENT_VERSION,
        "T-0",
        "passed",
        "-",
    )
    assert first_event([old, new], Event.PHASE_FINISHED, "T-1h") is None
    assert first_event([old, new], Event.PHASE_FINISHED, "T-0") == new
    with (tmp_path / "events.jsonl").open("a") as fh:
        fh.write(json.dumps({"event": "deployed", "at": 13.0, "v": EVENT_VERSION + 1}) + "\n")
        fh.write("{}\n")
    with pytest.raises(RunError, match=rf"events.jsonl:3: v {EVENT_VERSION + 1} is newer"):
        read_events(tmp_path)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    (tmp_path / "events.jsonl").write_text(
        "\n".join([*lines[:2], json.dumps({"event": "launched", "at": 1})]) + "\n"
    )
    with pytest.raises(RunError, match=r"events.jsonl:3: event: Input should be "):
        read_events(tmp_path)


def test_a_phase_result_of_the_previous_version_still_reads(tmp_path: Path) -> None:
    """Version 1 glued items as ItemResult (id, signed_by, signed_at, detail); they read as ItemState."""
    import nbformat

    from launchlib.runfolder.result import RESULT_SCRAP, RESULT_VERSION, read_results

    item = {
        "id": "smoke",
        "text": "Smoke test",
        "owner": "devops_lead",
        "check": "smoke",
        "required": True,
        "state": "passed",
        "satisfied": True,
        "detail": "200 in 12 ms",
        "signed_by": None,
        "signed_at": None,
    }
    signed = {
        **item,
        "id": "ack",
        "check": None,
        "detail": "",
        "state": "done",
        "signed_by": "Maya",
        "signed_at": "2026-12-01T10:00:00",
    }
    v1 = {
        "version": 1,
        "phase": "T-1h",
        "status": "passed",
        "items": [item, signed],
        "started": 1.0,
        "finished": 2.0,
    }
    out = nbformat.v4.new_output(
        "display_data",
        data={
            "application/scrapbook.scrap.json+json": {
                "name": RESULT_SCRAP,
                "data": v1,
                "encoder": "json",
                "version": 1,
            }
        },
        metadata={"scrapbook": {"name": RESULT_SCRAP, "data": True, "display": False}},
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=[out])])
    nbformat.write(nb, tmp_path / "T-1h.ipynb")
    res = read_results(tmp_path)["T-1h"]
    assert res.version == RESULT_VERSION
    check, person = res.items
    assert (check.phase, check.item, check.check_detail, check.state, check.satisfied) == (
        "T-1h",
        "smoke",
        "200 in 12 ms",
        "passed",
        True,
    )
    assert (person.by, person.at, person.signed, person.state, person.satisfied) == (
        "Maya",
        "2026-12-01T10:00:00",
        "done",
        "done",
        True,
    )


def test_the_monitors_status_of_the_previous_version_still_reads(tmp_path: Path) -> None:
    """A status written before ``v`` and trigger states reads as version 1; a newer one is refused."""
    from launchlib.runfolder.status import STATUS_VERSION, read_status

    path = tmp_path / "monitor.json"
    assert read_status(path) is None
    old = {"state": "watching", "target": "http://127.0.0.1:1", "rate": 100.0, "samples": 5, "pid": 7}
    path.write_text(json.dumps(old))
    got = read_status(path)
    assert got is not None and (got.v, got.state, got.pid, got.triggers) == (1, "watching", 7, [])
    path.write_text(json.dumps(old | {"v": STATUS_VERSION + 1}))
    with pytest.raises(RunError, match=rf"monitor.json: v {STATUS_VERSION + 1} is newer"):
        read_status(path)
    path.write_text(json.dumps(old | {"samples": "many"}))
    with pytest.raises(RunError, match=r"monitor.json: samples: "):
        read_status(path)


def test_the_outbox_is_typed_and_reads_lines_of_the_previous_version(tmp_path: Path) -> None:
    from launchlib.runfolder.notes import NOTE_VERSION, Recipient, read_notifications, record_notification

    old = {
        "at": 5.0,
        "phase": "T-0",
        "kind": "status",
        "message": "deployed",
        "to": [{"role": "cto", "name": "Ana"}],
    }
    (tmp_path / "notifications.jsonl").write_text(json.dumps(old) + "\n")
    record_notification(
        tmp_path, "monitor", "trigger", "error_rate fired", [Recipient(role="devops_lead", name="Sam")]
    )
    first, second = read_notifications(tmp_path)
    assert (first.v, first.kind, first.recipients()) == (1, "status", "Ana (cto)")
    assert (second.v, second.phase, second.message) == (NOTE_VERSION, "monitor", "error_rate fired")
    with (tmp_path / "notifications.jsonl").open("a") as fh:
        fh.write(json.dumps({"at": 6.0, "kind": "status"}) + "\n")
        fh.write("{}\n")
    with pytest.raises(RunError, match=r"notifications.jsonl:3: message: Field required"):
        read_notifications(tmp_path)
