"""Notifications that arrive: Slack-compatible incoming webhooks and generic JSON webhooks.

A channel's URL comes from the environment variable the plan names (never from the plan, never
written anywhere). Each message goes to every channel that takes its event, in a thread of its
own: retried with exponential backoff until it is accepted (2xx) or the channel's deadline has
passed, so that a slow or dead receiver never blocks the caller — least of all a rollback.
Every delivery is recorded (``delivered`` / ``failed``, HTTP status, attempts, latency) through
the ``record`` callback; errors name the channel and the variable, never the URL.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from launchlib.plan.model import Channel, DeliveryKind

__all__ = ["Deliveries", "Message"]


@dataclass(frozen=True)
class Message:
    """What a person on a phone reads in five seconds: what happened, the tier, the evidence, who acts."""

    event: str  # go_no_go | trigger_fired | rollback_started | rollback_completed | launch_declared | …
    title: str  # "ROLLBACK · immediate tier"
    text: str  # the evidence, one line
    run_id: str
    phase: str
    tier: str | None = None
    act: list[str] = field(default_factory=list)  # who acts, first first
    link: str = ""  # the run's report

    def lines(self) -> list[str]:
        out = [f"{self.title}: {self.text}"]
        if self.act:
            out.append(f"Who acts: {', '.join(self.act)}")
        out.append(f"Run {self.run_id} · {self.phase}" + (f" · {self.link}" if self.link else ""))
        return out

    def payload(self, kind: DeliveryKind) -> dict[str, Any]:
        if kind is DeliveryKind.SLACK:  # Slack's incoming-webhook format; Mattermost and Teams take it too
            return {"text": "\n".join(self.lines())}
        return {**asdict(self), "summary": "\n".join(self.lines())}


class Deliveries:
    """Sends messages to the plan's webhook channels off the caller's path and records each outcome."""

    def __init__(
        self,
        channels: list[Channel],
        record: Callable[[dict[str, Any]], None],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.channels = [c for c in channels if c.delivery is not None]
        self.record = record
        self.env = os.environ if env is None else env
        self._threads: list[threading.Thread] = []
        self._due: list[tuple[threading.Thread, str, float]] = []  # (thread, channel, deadline)
        self.crashed: list[str] = []  # deliveries that ended in an error of their own, said once each

    def send(self, msg: Message, wait: bool = False) -> list[dict[str, Any]]:
        """Queue ``msg`` to every channel that takes its event and return at once; with ``wait``
        (a channel test, never a rollback) join them and return their delivery records."""
        started: list[threading.Thread] = []
        records: list[dict[str, Any]] = []
        for ch in self.channels:
            assert ch.delivery is not None
            if ch.delivery.events and msg.event not in ch.delivery.events:
                continue
            t = threading.Thread(
                target=self._guarded, args=(ch, msg, records), name=f"webhook-{ch.name}", daemon=True
            )
            t.start()
            started.append(t)
            self._due.append((t, ch.name, time.monotonic() + ch.delivery.deadline_s))
        self._threads += started
        if wait:
            for t in started:
                t.join()
        return records

    def wait(self, timeout_s: float | None = None) -> int:
        """Join pending deliveries (each ends by its channel's deadline); how many are still running."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        for t in self._threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        return len(self._threads)

    def drain(self) -> int:
        """Wait for every delivery still on its way: at most the longest channel deadline."""
        return self.wait(max((c.delivery.deadline_s for c in self.channels if c.delivery), default=0.0))

    def problems(self, grace_s: float = 5.0) -> list[str]:
        """Deliveries that crashed, or still run ``grace_s`` past their channel's deadline (hung):
        for the runner's supervisor, which says each once."""
        now = time.monotonic()
        hung = [
            f"{name}: still running {now - due:.0f} s past its deadline"
            for t, name, due in self._due
            if t.is_alive() and now > due + grace_s
        ]
        self._due = [(t, n, d) for t, n, d in self._due if t.is_alive() and now <= d + grace_s]
        crashed, self.crashed = self.crashed, []
        return crashed + hung

    def _guarded(self, ch: Channel, msg: Message, records: list[dict[str, Any]]) -> None:
        """One delivery; an error of its own (a defect, a full disk) is recorded and said, never lost."""
        try:
            self._deliver(ch, msg, records)
        except Exception as exc:
            self.crashed.append(f"{ch.name}: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                rec = {"at": time.time(), "channel": ch.name, "event": msg.event, "status": "failed"}
                self._done(records, {**rec, "error": f"{type(exc).__name__}: {exc}"})

    def _deliver(self, ch: Channel, msg: Message, records: list[dict[str, Any]]) -> None:
        d = ch.delivery
        assert d is not None
        rec: dict[str, Any] = {
            "at": time.time(),
            "channel": ch.name,
            "event": msg.event,
            "kind": d.kind.value,
        }
        url = self.env.get(d.url_env, "")
        if not url:
            self._done(
                records, {**rec, "status": "failed", "attempts": 0, "error": f"{d.url_env} is not set"}
            )
            return
        start = time.monotonic()
        deadline = start + d.deadline_s
        attempts, status, error = 0, None, ""
        with httpx.Client(follow_redirects=False) as client:
            while attempts < d.attempts:
                attempts += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    r = client.post(url, json=msg.payload(d.kind), timeout=min(d.timeout_s, left))
                    status = r.status_code
                    if 200 <= status < 300:
                        error = ""
                        break
                    error = f"HTTP {status}"
                except httpx.HTTPError as exc:  # connect, read, timeout: the message names no URL
                    error = f"{type(exc).__name__}: {str(exc).replace(url, '<url>') or 'no answer'}"
                pause = d.backoff_s * 2 ** (attempts - 1)
                if attempts < d.attempts and time.monotonic() + pause < deadline:
                    time.sleep(pause)
                elif attempts < d.attempts:
                    break
        ok = status is not None and 200 <= status < 300
        self._done(
            records,
            {
                **rec,
                "status": "delivered" if ok else "failed",
                "http_status": status,
                "attempts": attempts,
                "latency_ms": round((time.monotonic() - start) * 1000, 1),
                "error": "" if ok else error or f"deadline of {d.deadline_s:g} s passed",
            },
        )

    def _done(self, records: list[dict[str, Any]], rec: dict[str, Any]) -> None:
        records.append(rec)  # list.append is atomic: threads of one message share the list
        self.record(rec)
