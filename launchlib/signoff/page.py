"""The sign-off checklist as a page without code, served by Voilà on loopback.

For people who sign but should not see (or edit) code: ``launchlib signoff page RUN`` writes a
one-cell notebook into a temporary folder and Voilà runs it, showing only the widgets (Voilà
strips the sources). Ticks reach the run's ledger through the same rules as the notebook
widgets and the CLI, so the page, a notebook and ``launchlib signoff`` can be used at once.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat

from launchlib.errors import RunError
from launchlib.plan.locations import project_path
from launchlib.signoff.gates import pre_launch_phases
from launchlib.signoff.ledger import open_run_ledger
from launchlib.signoff.widgets import Checklist

__all__ = ["page_notebook", "run_checklist", "serve_page", "voila_command"]

PAGE_FILE = "checklist.ipynb"


def run_checklist(
    run_dir: str | Path,
    phases: list[str] | None = None,
    *,
    plan_path: str = "parameters/plan.yaml",
) -> Checklist:
    """The checklist of a run folder (its own plan copy when it has one); default the go/no-go phases."""
    plan, ledger = open_run_ledger(Path(run_dir), Path(project_path(plan_path)))
    if phases:
        for ph in phases:
            try:
                plan.phase(ph)
            except KeyError as exc:
                raise RunError(f"{run_dir}: --phase: {exc.args[0]}") from None
        return Checklist(plan, ledger, list(phases), gate_name=f"{', '.join(phases)} sign-off")
    return Checklist(plan, ledger, pre_launch_phases(plan), gate_name="go/no-go")


def page_notebook(run_dir: Path, phases: list[str], plan_path: Path) -> nbformat.NotebookNode:
    """A notebook of one markdown title and one code cell that shows the run's checklist."""
    title = f"# Sign-off — {run_dir.name}\n\n" + (
        f"Phases: {', '.join(phases)}" if phases else "Go/no-go gate: every pre-launch item"
    )
    code = (
        "import launchlib.signoff.page as page\n\n"
        f"page.run_checklist({str(run_dir.resolve())!r}, {phases!r}, plan_path={str(plan_path.resolve())!r})"
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(title), nbformat.v4.new_code_cell(code)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def voila_command(notebook: Path, port: int) -> list[str]:
    """Voilà for ``notebook`` on 127.0.0.1:``port`` (loopback only: expose it with your own proxy)."""
    voila = Path(sys.executable).with_name("voila")
    return [
        str(voila),
        str(notebook),
        f"--port={port}",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--strip_sources=True",
    ]


def serve_page(
    run_dir: Path, phases: list[str], *, port: int, plan_path: Path, echo: Callable[[str], None] = print
) -> int:
    """Serve the checklist page until interrupted; returns Voilà's exit status."""
    plan_file = Path(project_path(str(plan_path)))
    run_checklist(run_dir, phases, plan_path=str(plan_file))  # fail here, not in the page
    with tempfile.TemporaryDirectory(prefix="launchlib-page-") as tmp:
        notebook = Path(tmp) / PAGE_FILE
        nbformat.write(page_notebook(run_dir, phases, plan_file), notebook)
        echo(f"sign-off page for {run_dir.name} on http://127.0.0.1:{port}/ (Ctrl-C stops it)")
        try:
            return subprocess.run(voila_command(notebook, port), cwd=tmp, check=False).returncode
        except KeyboardInterrupt:
            return 0
