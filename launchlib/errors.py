"""The one exception tree of launchlib.

Every error launchlib raises on purpose derives from :class:`LaunchError`; the CLI turns
each into one line per problem on stderr and the error's ``exit_code``::

    LaunchError                 exit 2: bad input, nothing run
    ├── PlanError        a plan, scenario or parameter file is malformed (file, field, line)
    │   └── DataError    a samples or events input is unusable (file, column, what)
    ├── TargetError      a target (simulator, real stack, Prometheus) cannot be used
    ├── LedgerError      a sign-off ledger is corrupt, foreign, or a sign-off is refused
    └── RunError         a run folder cannot be used (exists, corrupt, bad run id)
        └── RunBroken    exit 3: the run itself broke (notebook crashed, monitor stopped,
                         target unreachable at start); what was recorded stays

The exit codes scripts rely on (as k6 and pytest do): :data:`EXIT_OK` 0 — ran, as expected;
:data:`EXIT_FINDINGS` 1 — ran and found something; :data:`EXIT_BAD_INPUT` 2; :data:`EXIT_BROKEN` 3.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "DataError",
    "KernelDied",
    "LaunchError",
    "LedgerError",
    "PlanError",
    "Problem",
    "RunBroken",
    "RunError",
    "TargetError",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN = 3


class LaunchError(Exception):
    """Root of every error launchlib raises on purpose."""

    exit_code = EXIT_BAD_INPUT

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


class RunBroken(RunError):
    """The run itself broke (a notebook crashed, the monitor stopped, the target went away)."""

    exit_code = EXIT_BROKEN


class KernelDied(RunBroken):
    """The kernel a notebook ran on ended under it (killed, crashed).

    Its message reads ``kernel died (signal 9) during T+5m``; ``how`` is the part in brackets."""

    def __init__(self, message: str, *, phase: str | None = None, how: str = "") -> None:
        self.how = how
        super().__init__(message, phase=phase)
