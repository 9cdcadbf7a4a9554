"""The war room's channels, and how a message reaches the ones that take webhooks.

A channel is what the seed lists (``Slack Channel: #launch-war-room``); ``delivery`` makes it
one launchlib posts to: a Slack-compatible incoming webhook or a generic JSON webhook whose URL
is read from the environment variable ``url_env`` (the plan never holds a URL or a secret), the
events it takes, and how hard to try: ``attempts`` with exponential ``backoff_s``, each request
bounded by ``timeout_s``, the whole delivery by ``deadline_s``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["NOTIFY_EVENTS", "Channel", "Delivery", "DeliveryKind"]

#: What launchlib announces on a channel.
NOTIFY_EVENTS: dict[str, str] = {
    "test": "a channel test (T-24h)",
    "go_no_go": "the go/no-go gate's verdict",
    "trigger_fired": "a rollback trigger fired",
    "rollback_started": "a rollback started, with its cause and evidence",
    "rollback_completed": "a rollback completed, with its verification",
    "launch_declared": "the launch declared a success (or not) at T+1h",
    "incident_escalated": "an incident escalated along the escalation matrix",
}
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class DeliveryKind(StrEnum):
    SLACK = "slack"  # {"text": …}: Slack, Mattermost and Teams incoming webhooks
    WEBHOOK = "webhook"  # the message as JSON fields


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeliveryKind
    url_env: str  # the environment variable holding the webhook URL
    events: list[str] = Field(default_factory=list)  # empty: every event
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    timeout_s: Annotated[float, Field(gt=0)] = 5.0
    deadline_s: Annotated[float, Field(gt=0)] = 15.0

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        if not ENV_NAME.match(v):
            raise ValueError(f"{v!r} is not an environment variable name (A-Z, 0-9, _): never the URL itself")
        return v

    @field_validator("events")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [e for e in v if e not in NOTIFY_EVENTS]
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)} (known: {', '.join(NOTIFY_EVENTS)})")
        return v


class Channel(BaseModel):
    """A channel of the war room (the seed's name and value), optionally delivered to by webhook."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: str
    delivery: Delivery | None = None
