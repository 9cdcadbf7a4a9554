"""The launch clock: where T-0 is and how a moment reads (``T+4m52s``), one rule for every reader.

T-0 is the run's first ``deployed`` event; a run with no deploy (a phase run on its own) has the
``clock`` event its phase armed instead, and a run with neither has no T-0 yet. Launch seconds are
real seconds times the run's compression. The scorecard, the report, the console, the supervisor
and a phase's context all ask a :class:`LaunchClock`; none computes T-0 itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from launchlib.runfolder.events import Event, TimelineEvent, first_event, read_events

__all__ = ["LaunchClock", "clock"]


def clock(launch_s: float) -> str:
    """A launch-clock offset as a person reads it: ``T+2m40s``, ``T-0``, ``T-1m05s``, ``T+1h05m``."""
    sign = "-" if launch_s < 0 else "+"
    s = round(abs(launch_s))
    if s == 0:
        return "T-0"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"T{sign}{h}h{m:02d}m"
    return f"T{sign}{m}m{sec:02d}s" if m else f"T{sign}{sec}s"


@dataclass(frozen=True)
class LaunchClock:
    """T-0 (``origin``, wall seconds; ``None`` before it) and the compression of a run."""

    origin: float | None
    compress: float = 1.0

    @classmethod
    def from_events(cls, events: list[TimelineEvent], compress: float = 1.0) -> LaunchClock:
        """The clock of a run's events: the first deploy, else the first ``clock`` event."""
        origin = first_event(events, Event.DEPLOYED) or first_event(events, Event.CLOCK)
        return cls(None if origin is None else origin.at, compress)

    @classmethod
    def of_run(cls, run_dir: Path | str, compress: float = 1.0) -> LaunchClock:
        """The clock of a run folder as its events say now (no events yet: no T-0)."""
        return cls.from_events(read_events(run_dir), compress)

    @property
    def started(self) -> bool:
        return self.origin is not None

    def launch_s(self, wall: float) -> float | None:
        """Launch seconds from T-0 of a wall time (``None`` before there is a T-0)."""
        return None if self.origin is None else (wall - self.origin) * self.compress

    def wall(self, launch_s: float) -> float | None:
        """Wall time of a launch-clock offset (``None`` before there is a T-0)."""
        return None if self.origin is None else self.origin + launch_s / self.compress

    def at(self, wall: float) -> str:
        """A wall time on the launch clock: ``T+4m52s`` (``before T-0`` while there is none)."""
        s = self.launch_s(wall)
        return "before T-0" if s is None else clock(s)

    def __str__(self) -> str:
        return self.at(time.time())
