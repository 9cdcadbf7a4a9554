"""The one exception tree of launchlib.

Every error a user can cause derives from :class:`LaunchError`; the CLI turns each into
one line per problem on stderr and exit code 2::

    LaunchError
    ├── PlanError        a plan, scenario or parameter file is malformed (file, field, line)
    │   └── DataError    a samples or events input is unusable (file, column, what)
    ├── TargetError      a target (simulator, real stack, Prometheus) cannot be used
    ├── LedgerError      a sign-off ledger is corrupt, foreign, or a sign-off is refused
    └── RunError         a run folder or rehearsal cannot proceed (exists, corrupt, notebook failed)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DataError",
    "LaunchError",
    "LedgerError",
    "PlanError",
    "Problem",
    "RunError",
    "TargetError",
]


class LaunchError(Exception):
    """Root of every error launchlib raises on purpose."""

    def lines(self) -> list[str]:
        """One human-readable line per problem, for the CLI."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (file, field path, line) and what."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PlanError(LaunchError):
    """A plan, scenario or parameters file is malformed; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class DataError(PlanError):
    """A samples or events input is unusable: missing columns, bad timestamps, empty."""


class TargetError(LaunchError):
    """A target system cannot be used (port in use, not reachable when it must be)."""


class LedgerError(LaunchError):
    """A sign-off ledger is corrupt or foreign, or a sign-off was refused."""


class RunError(LaunchError):
    """A rehearsal or run folder cannot proceed; carries the phase and cell when known."""

    def __init__(self, message: str, *, phase: str | None = None, cell: int | None = None) -> None:
        self.phase = phase
        self.cell = cell
        super().__init__(message)
