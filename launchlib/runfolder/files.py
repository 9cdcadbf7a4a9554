"""The one owner of a run folder's file names: every reader and writer asks a :class:`RunFolder`.

``reports/<run-id>/`` holds, by name: the plan and scenario the run used, ``manifest.json``,
``events.jsonl``, ``decisions.jsonl``, ``notifications.jsonl``, ``deliveries.jsonl``,
``monitor.json`` (the monitor's live status), ``ledger.sqlite`` (sign-offs), ``samples/`` (Parquet
parts), ``backups/`` (verified database dumps), each phase's executed notebook and page, and
``report.html``. No module outside :mod:`launchlib.runfolder` joins one of these names onto a run
path (``tests/test_architecture.py`` holds that).
"""

from __future__ import annotations

from pathlib import Path

from launchlib.runfolder.events import DECISIONS, EVENTS, SAMPLES_DIR
from launchlib.runfolder.folder import MANIFEST

__all__ = ["RUN_FILES", "RunFolder"]

PLAN = "plan.yaml"
SCENARIO = "scenario.yaml"
NOTIFICATIONS = "notifications.jsonl"
DELIVERIES = "deliveries.jsonl"
MONITOR = "monitor.json"
LEDGER = "ledger.sqlite"
REPORT = "report.html"
BACKUPS = "backups"

#: every fixed name a run folder holds (phase notebooks and pages are named by their phase)
RUN_FILES = (PLAN, SCENARIO, MANIFEST, EVENTS, DECISIONS, NOTIFICATIONS, DELIVERIES, MONITOR, LEDGER, REPORT)


class RunFolder:
    """A run folder's paths by what they hold, and the answers every layer needs of its files."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def plan_file(self) -> Path:
        return self.path / PLAN

    @property
    def scenario_file(self) -> Path:
        return self.path / SCENARIO

    @property
    def manifest_file(self) -> Path:
        return self.path / MANIFEST

    @property
    def events_file(self) -> Path:
        return self.path / EVENTS

    @property
    def decisions_file(self) -> Path:
        return self.path / DECISIONS

    @property
    def notifications_file(self) -> Path:
        return self.path / NOTIFICATIONS

    @property
    def deliveries_file(self) -> Path:
        return self.path / DELIVERIES

    @property
    def monitor_file(self) -> Path:
        return self.path / MONITOR

    @property
    def ledger_file(self) -> Path:
        return self.path / LEDGER

    @property
    def report_file(self) -> Path:
        return self.path / REPORT

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES_DIR

    @property
    def backups_dir(self) -> Path:
        return self.path / BACKUPS

    def notebook(self, phase: str, attempt: int | None = None) -> Path:
        """A phase's executed notebook (``attempt``: an earlier try kept beside it)."""
        return self.path / (f"{phase}.ipynb" if attempt is None else f"{phase}.attempt-{attempt}.ipynb")

    def page(self, phase: str) -> Path:
        """A phase's HTML page."""
        return self.path / f"{phase}.html"

    def plan(self, project_plan: Path | str) -> Path:
        """The plan this run uses: its own copy, else ``project_plan`` (a run begun by a monitor or
        a phase alone, before any copy was made)."""
        return self.plan_file if self.plan_file.exists() else Path(project_plan)
