"""The real world a launch depends on, as the pre-launch checks read it.

The seed's pre-launch checklist asks for the release tag, DNS, SSL and the stack before T-0;
these settings say where to look: the git repository that must hold the candidate's tag (a
path, or a URL read from the environment variable ``repository_env`` when it carries a token),
the hostnames that must resolve, the TLS endpoints whose certificate must stay valid for
``tls_min_days``, and how much free disk the Docker host and the kit's own folders need.
Prometheus is the one the monitoring settings already name (``--prometheus``).
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from launchlib.plan.channels import ENV_NAME

__all__ = ["Environment"]


class Environment(BaseModel):
    """Where the pre-launch checks of the real world look (``environment:`` in the plan)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str | None = None  # a path or URL without credentials
    repository_env: str | None = None  # or the variable that holds it (a URL with a token)
    hostnames: list[str] = Field(default_factory=list)  # besides the target's own host
    tls_endpoints: list[str] = Field(default_factory=list)  # host:port; besides an https target
    tls_min_days: Annotated[int, Field(ge=0)] = 14
    tls_ca_file: str | None = None  # a private CA's bundle; the system's store otherwise
    min_free_disk_gb: Annotated[float, Field(ge=0)] = 10.0
    disk_paths: list[str] = Field(default_factory=list)  # besides the Docker host and run folder

    @field_validator("repository_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.match(v):
            raise ValueError(f"{v!r} is not an environment variable name (A-Z, 0-9, _)")
        return v

    @field_validator("tls_endpoints")
    @classmethod
    def _host_port(cls, v: list[str]) -> list[str]:
        for ep in v:
            host, _, port = ep.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{ep!r} is not host:port")
        return v

    def git_repository(self) -> str | None:
        """The repository to look in: the variable's value when one is named, else ``repository``."""
        if self.repository_env:
            return os.environ.get(self.repository_env) or None
        return self.repository
