"""Notifications that arrive: real webhook receivers on 127.0.0.1 (records, fails twice, hangs)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import PLAN_PATH

from launchlib.backends.webhooks import Deliveries, Message
from launchlib.plan.channels import Channel, Delivery, DeliveryKind

SECRET = "T0PSECRET-hook-7f3a"  # in every receiver's path, as a webhook URL's token is


class Receiver:
    """A real HTTP server on 127.0.0.1: ``mode`` record | flaky (503 twice, then 200) | hang."""

    def __init__(self, mode: str) -> None:
        self.mode, self.bodies, self.calls = mode, [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.mode == "hang":
                    time.sleep(3.0)
                code = 503 if outer.mode == "flaky" and outer.calls <= 2 else 200
                if code == 200:
                    outer.bodies.append(json.loads(body))
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up on a hanging receiver: that is the point

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/{SECRET}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    assert time.perf_counter() - t < 0.1  # the caller (a rollback) does not wait
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
    assert by["stuck"]["latency_ms"] < 2500  # bounded by the channel's 1.5-s deadline, not the receiver
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
    receivers: dict[str, Receiver], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from launchlib.runner.console import Console
    from launchlib.runner.rehearse import rehearse

    data = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
    slack = next(c for c in data["channels"] if c["name"] == "Slack Channel")
    slack["delivery"] = {"kind": "slack", "url_env": "LAUNCHLIB_TEST_SLACK_URL"}
    data["channels"].append(
        {
            "name": "Pager",
            "value": "on-call",
            "delivery": {
                "kind": "webhook",
                "url_env": "LAUNCHLIB_TEST_PAGER_URL",
                "timeout_s": 0.5,
                "deadline_s": 2.0,
            },
        }
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("LAUNCHLIB_TEST_SLACK_URL", receivers["record"].url)
    monkeypatch.setenv("LAUNCHLIB_TEST_PAGER_URL", receivers["hang"].url)
    lines: list[str] = []
    run_dir, m = rehearse(
        "latency-spike",
        run_id="hooks",
        reports=tmp_path / "reports",
        plan_path=plan,
        console=Console(echo=lines.append),
    )
    assert m.scorecard is not None and m.scorecard.as_expected, (m.scorecard, lines)
    texts = [b["text"] for b in receivers["record"].bodies]
    firsts = [t.splitlines()[0] for t in texts]
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
    assert m.scorecard.time_to_rollback_start_s is not None
    assert (
        m.scorecard.time_to_rollback_start_s - m.scorecard.time_to_decide_s < 60
    )  # launch s: under 2 real s
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
