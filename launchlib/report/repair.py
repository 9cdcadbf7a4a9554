"""Healing a run folder whose runner died (SIGKILL, power loss): marked interrupted, pages written.

The manifest of such a run says ``running`` forever; the next command that opens the run (or
``launchlib runs repair``) notices that the runner's process is gone and says what happened.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from launchlib.errors import RunError
from launchlib.report.html import render_html
from launchlib.report.run_report import write_report
from launchlib.report.scorecard import not_scored
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import Manifest, Outcome, read_manifest, write_manifest
from launchlib.runfolder.records import ErrorRecord, Scorecard

__all__ = ["repair_run"]


def _runner_alive(m: Manifest) -> bool:
    if m.pid is None or (m.host is not None and m.host != socket.gethostname()):
        return m.host is not None and m.host != socket.gethostname()  # another machine's run: trust it
    try:
        os.kill(m.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_run(run_dir: Path | str) -> Manifest | None:
    """Mark a run whose runner died (SIGKILL, power loss) as interrupted; ``None`` if it was fine.

    What the run recorded stays; the notebooks that ran get their HTML, the report is rewritten.
    """
    run_dir = Path(run_dir)
    if not RunFolder(run_dir).manifest_file.exists():
        return None
    m = read_manifest(run_dir)
    if m.kind is not Outcome.RUNNING or _runner_alive(m):
        return None
    ran = [e.phase for e in m.phases]
    m.outcome = f"interrupted: the runner (pid {m.pid}) stopped without finishing" + (
        f", after {ran[-1]}" if ran else ""
    )
    m.finished = max((p.stat().st_mtime for p in run_dir.iterdir()), default=m.started)
    m.error = ErrorRecord(message=m.outcome)
    m.scorecard = not_scored(m.scorecard or Scorecard(), m.outcome)
    for nb in sorted(run_dir.glob("*.ipynb")):
        html_path = nb.with_suffix(".html")
        if not html_path.exists():
            try:
                render_html(nb, html_path)
            except Exception:
                continue
    write_manifest(run_dir, m)
    try:
        write_report(run_dir, m)
    except Exception as exc:  # the manifest is repaired; the index lists the run with this reason
        raise RunError(
            f"{RunFolder(run_dir).report_file}: not written: {type(exc).__name__}: {exc}"
        ) from None
    return m
