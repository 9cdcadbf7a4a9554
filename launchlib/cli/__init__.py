"""The ``launchlib`` command: a thin skin over the library (see :mod:`launchlib.cli.app`)."""

from __future__ import annotations

from launchlib.cli import plan_commands, run_commands, signoff_commands, warroom_commands
from launchlib.cli.app import main

__all__ = ["main", "plan_commands", "run_commands", "signoff_commands", "warroom_commands"]

if __name__ == "__main__":  # pragma: no cover
    main()
