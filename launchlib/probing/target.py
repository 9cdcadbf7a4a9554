"""Where probes point: a base URL with optional auth, the same for the simulator or a real stack.

Secrets never sit in files: a target names the environment variable holding its admin
token (``token_env``), and the token is read when a probe needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["DEFAULT_TOKEN_ENV", "Target"]

DEFAULT_TOKEN_ENV = "LAUNCHLIB_ADMIN_TOKEN"


@dataclass(frozen=True)
class Target:
    """An HTTP target: ``base_url``, extra headers, and the env var naming its admin token."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    token_env: str = DEFAULT_TOKEN_ENV
    token: str | None = None  # only for the embedded simulator, whose token is not a secret
    timeout_s: float = 2.0

    def admin_token(self) -> str | None:
        return self.token if self.token is not None else os.environ.get(self.token_env)

    def auth_headers(self) -> dict[str, str]:
        token = self.admin_token()
        return {**self.headers, "Authorization": f"Bearer {token}"} if token else dict(self.headers)
