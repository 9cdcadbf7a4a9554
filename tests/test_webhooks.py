"""Notifications that arrive: real webhook receivers on 127.0.0.1 (records, fails twice, hangs)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from conftest import HOOK_SECRET, Receiver, Rehearsed

from launchlib.backends.webhooks import Deliveries, Message
from launchlib.plan.channels import Channel, Delivery, DeliveryKind

SECRET = HOOK_SECRET


@pytest.fixture()
def receivers() -> Iterator[dict[str, Receiver]]:
    rs = {m: Receiver(m) for m in ("record", "flaky", "hang")}
    yield rs
    for r in rs.values():
        r.stop()


def _channel(name: str, kind: DeliveryKind, env: str, **kw: float) -> Channel:
    d = Delivery(kind=kind, url_env=env, attempts=3, backoff_s=0.05, timeout_s=0.4, deadline_s=1.5, **kw)
    return Channel(name=name, value=name, delivery=d)


MSG = Message(
    event="rollback_started",
    title="ROLLBACK · immediate tier",
    text="performance_degradation: p95 708 ms > 1.5 × baseline 54 ms, held 30 s, fired at T+2m50s",
    run_id="launch-1",
    phase="rollback",
    tier="immediate",
    act=["DevOps Lead (Mike)", "Launch Commander (CTO)"],
    link="reports/launch-1/report.html",
)


def test_deliveries_record_retry_and_give_up_without_blocking(receivers: dict[str, Receiver]) -> None:
    env = {
        "HOOK_SLACK": receivers["record"].url,
        "HOOK_FLAKY": receivers["flaky"].url,
        "HOOK_HANG": receivers["hang"].url,
    }
    records: list[dict] = []
    channels = [
        _channel("war room", DeliveryKind.SLACK, "HOOK_SLACK"),
        _channel("pager", DeliveryKind.WEBHOOK, "HOOK_FLAKY"),
        _channel("stuck", DeliveryKind.WEBHOOK, "HOOK_HANG"),
        _channel("unset", DeliveryKind.WEBHOOK, "HOOK_MISSING"),
        Channel(name="Email Group", value="launch-team@example"),  # no delivery: not posted to
    ]
    d = Deliveries(channels, records.append, env=env)
    t = time.perf_counter()
    d.send(MSG)
    sent = time.perf_counter() - t
    assert sent < 1.0, sent  # the caller (a rollback) waits for no receiver: one hangs 3 s, one fails twice
    assert d.wait(10) == 0
    by = {r["channel"]: r for r in records}
    assert set(by) == {"war room", "pager", "stuck", "unset"}
    assert by["war room"] | {"at": 0, "latency_ms": 0} == {
        "at": 0,
        "channel": "war room",
        "event": "rollback_started",
        "kind": "slack",
        "status": "delivered",
        "http_status": 200,
        "attempts": 1,
        "latency_ms": 0,
        "error": "",
    }
    assert (
        by["pager"]["status"] == "delivered"
        and by["pager"]["attempts"] == 3
        and receivers["flaky"].calls == 3
    )
    assert by["stuck"]["status"] == "failed" and "Timeout" in by["stuck"]["error"]
    assert by["stuck"]["latency_ms"] < 3000  # bounded by the channel's 1.5-s deadline, not the 3-s receiver
    assert by["unset"]["status"] == "failed" and by["unset"]["error"] == "HOOK_MISSING is not set"
    text = receivers["record"].bodies[0]["text"]
    assert text.splitlines() == [
        "ROLLBACK · immediate tier: performance_degradation: p95 708 ms > 1.5 × baseline 54 ms, held 30 s, "
        "fired at T+2m50s",
        "Who acts: DevOps Lead (Mike), Launch Commander (CTO)",
        "Run launch-1 · rollback · reports/launch-1/report.html",
    ]
    generic = receivers["flaky"].bodies[0]
    assert (
        generic["event"] == "rollback_started"
        and generic["tier"] == "immediate"
        and generic["act"][0].startswith("DevOps")
    )
    assert SECRET not in json.dumps(records)  # a delivery record never holds the URL


def test_a_channel_takes_only_its_events(receivers: dict[str, Receiver]) -> None:
    ch = _channel("go only", DeliveryKind.SLACK, "HOOK", events=())  # type: ignore[arg-type]
    only = Channel(name="go", value="go", delivery=ch.delivery.model_copy(update={"events": ["go_no_go"]}))  # type: ignore[union-attr]
    records: list[dict] = []
    d = Deliveries([only], records.append, env={"HOOK": receivers["record"].url})
    assert d.send(MSG, wait=True) == [] and receivers["record"].calls == 0
    got = d.send(
        Message(
            event="go_no_go",
            title="GO",
            text="go/no-go: every required item satisfied",
            run_id="r",
            phase="T-1h",
        ),
        wait=True,
    )
    assert [r["status"] for r in got] == ["delivered"]


def test_the_plan_refuses_a_url_in_place_of_a_variable_and_unknown_events() -> None:
    with pytest.raises(ValueError, match="not an environment variable name"):
        Delivery(kind=DeliveryKind.SLACK, url_env="https://hooks.slack.com/services/T000/B000/XXX")
    with pytest.raises(ValueError, match="unknown event"):
        Delivery(kind=DeliveryKind.SLACK, url_env="HOOK", events=["rollback"])


@pytest.mark.slow
def test_a_rehearsal_posts_to_the_war_room_and_a_hanging_hook_never_delays_the_rollback(
    readme_run: Rehearsed,
) -> None:
    """The README run's plan posts to a Slack receiver and a pager that hangs (see conftest)."""
    m, run_dir = readme_run.manifest, readme_run.run_dir
    assert m.scorecard is not None and m.scorecard.as_expected, (m.scorecard, readme_run.lines)
    firsts = [b["text"].splitlines()[0] for b in readme_run.slack]
    for head in (
        "TEST",
        "GO: go/no-go",
        "TRIGGER FIRED · immediate tier",
        "ROLLBACK · immediate tier",
        "INCIDENT · Technical",
        "ROLLBACK COMPLETE",
    ):
        assert any(f.startswith(head) for f in firsts), (head, firsts)
    deliveries = [json.loads(x) for x in (run_dir / "deliveries.jsonl").read_text().splitlines()]
    slack_ok = [d for d in deliveries if d["channel"] == "Slack Channel"]
    assert slack_ok and all(d["status"] == "delivered" for d in slack_ok)
    pager = [d for d in deliveries if d["channel"] == "Pager"]
    assert pager and all(d["status"] == "failed" and d["latency_ms"] < 3000 for d in pager)
    card = m.scorecard
    assert card.time_to_rollback_start_s is not None and card.time_to_decide_s is not None
    # the hand-over is the runner's (interrupt, kernel): a pager hanging 3 real s per post adds none
    # of it; at 30x 3 real s would be 90 launch s: generous, and still fails on a rollback that waits
    assert card.time_to_rollback_start_s - card.time_to_decide_s < 90, card
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_delivery_that_breaks_is_said_once_and_recorded(receivers: dict[str, Receiver]) -> None:
    """A delivery whose own recording fails (a full disk) ends in a failed record and a problem the
    supervisor says once; the sender still returned at once."""
    seen: list[dict] = []

    def record(rec: dict) -> None:
        seen.append(rec)
        if rec["status"] == "delivered":
            raise OSError(28, "No space left on device")

    d = Deliveries(
        [_channel("war room", DeliveryKind.SLACK, "HOOK")], record, env={"HOOK": receivers["record"].url}
    )
    d.send(MSG)
    assert d.wait(10) == 0
    assert d.problems() == ["war room: OSError: [Errno 28] No space left on device"]
    assert [r["status"] for r in seen] == ["delivered", "failed"] and "No space" in seen[1]["error"]
    assert d.problems() == []  # said once
