"""``launchlib warroom RUN``: the war room's one screen, live, as a Voilà page on 127.0.0.1.

The page is a one-cell notebook Voilà runs with its sources stripped. In its kernel a task on the
event loop re-reads the run folder every ``tick_s`` (no longer than the plan's evaluation interval
on the run's clock, at least 0.25 s) and updates the banner, the trigger states, the phase and its
checklist and the communication log; the charts (the report's, on the launch clock) are redrawn
every ``chart_s``. While a rollback is proposed on a ``confirm`` tier the page shows who may answer,
and Accept / Reject buttons that record the answer through the same rules as ``launchlib decide``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import ipywidgets as w
import nbformat
import psutil

from launchlib.errors import LaunchError
from launchlib.plan.files import load_plan
from launchlib.plan.locations import project_path
from launchlib.report.launch_charts import failure_figure, latency_figure
from launchlib.report.warroom import WarRoomView, war_room_view
from launchlib.runfolder.files import RunFolder
from launchlib.signoff.answers import answer
from launchlib.signoff.page import voila_command

__all__ = ["PageServer", "WarRoom", "plan_interval_s", "tick_for", "war_room", "war_room_notebook"]

PAGE_FILE = "warroom.ipynb"
CHART_S = 2.0  # charts are the heavy part: redrawn at most this often


def _figure_output(fig: Any) -> dict[str, Any]:
    """A plotly figure as an output the page's renderer draws (and a static fallback)."""
    return {
        "output_type": "display_data",
        "data": {
            "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
            "text/html": fig.to_html(full_html=False, include_plotlyjs=False),
        },
        "metadata": {},
    }


class WarRoom:
    """The page's widgets over one run folder; :meth:`refresh` reads the folder again."""

    def __init__(self, run_dir: Path | str, tick_s: float = 1.0) -> None:
        self.folder = RunFolder(run_dir)
        self.tick_s = tick_s
        self.banner, self.triggers, self.phase = w.HTML(), w.HTML(), w.HTML()
        self.messages, self.progress, self.note = w.HTML(), w.HTML(), w.HTML()
        self.charts = w.Output()
        self.role, self.person = w.Dropdown(description="role"), w.Text(description="name")
        self.reason = w.Text(description="reason", layout=w.Layout(width="50%"))
        self.accept, self.reject = (
            w.Button(description="Accept rollback", button_style="danger"),
            w.Button(description="Reject", button_style="warning"),
        )
        self.accept.on_click(lambda _: self._answer(True))
        self.reject.on_click(lambda _: self._answer(False))
        self.decide = w.VBox(
            [w.HBox([self.role, self.person]), self.reason, w.HBox([self.accept, self.reject])]
        )
        self.decide.add_class("launchlib-decide")
        self.decide.layout.display = "none"
        left = w.VBox([self.triggers, self.phase], layout=w.Layout(width="45%"))
        right = w.VBox([self.progress, self.charts], layout=w.Layout(width="55%"))
        self.widget = w.VBox([self.banner, self.decide, self.note, w.HBox([left, right]), self.messages])
        self.widget.add_class("launchlib-warroom")
        self.view: WarRoomView | None = None
        self._drawn = 0.0

    def refresh(self, now: float | None = None) -> None:
        """Read the run folder again and update every part (charts at most every ``CHART_S``)."""
        now = time.time() if now is None else now
        if not self.folder.manifest_file.exists():
            said = f"waiting for {self.folder.path.name} to start…"
            self.banner.value = f"<p class='launchlib-banner' data-level='waiting'>{said}</p>"
            return
        self.view = v = war_room_view(self.folder.path, now)
        self.banner.value = v.banner().html()
        self.triggers.value = "<h3>Triggers</h3>" + v.triggers_html()
        self.phase.value = v.checklist_html()
        self.messages.value = "<h3>Communication log</h3>" + v.messages_html()
        self.progress.value = f"<p class='launchlib-samples'>{v.progress()}</p>"
        self._offer_decision(v)
        if now - self._drawn >= CHART_S or v.finished:
            self._drawn = now
            self.charts.outputs = (
                _figure_output(latency_figure(v.run)),
                _figure_output(failure_figure(v.run)),
            )

    def _offer_decision(self, v: WarRoomView) -> None:
        if v.proposal is None:
            self.decide.layout.display = "none"
            return
        roles = [r for label in v.proposal.roles if (r := v.run.plan.resolve_role(label)) is not None]
        options = [(r.title, r.id) for r in roles]
        if list(self.role.options) != options:
            self.role.options = options
            self.role.value = options[0][1] if options else None
            self.person.value = self.person.value or (roles[0].name if roles else "")
        self.decide.layout.display = "flex"

    def _answer(self, accept: bool) -> None:
        v = self.view
        if v is None:
            return
        try:
            ans = answer(
                self.folder.path,
                v.run.plan,
                accept=accept,
                role=str(self.role.value or ""),
                by=self.person.value,
                reason=self.reason.value,
                compress=v.run.manifest.compress,
            )
        except LaunchError as exc:
            self.note.value = f"<p class='launchlib-refused' style='color:#c62828'>{exc}</p>"
            return
        self.note.value = f"<p class='launchlib-answered'>{ans.answer}ed by {ans.by} ({ans.role})</p>"
        self.refresh()


async def _keep_fresh(room: WarRoom, until_finished: bool = False) -> None:
    """Refresh the page on the kernel's event loop; a failure is shown, never ends the loop."""
    while True:
        try:
            room.refresh()
        except Exception as exc:  # a half-written file, a run folder being moved: say it, try again
            room.note.value = f"<p style='color:#c62828'>could not read the run: {exc}</p>"
        if until_finished and room.view is not None and room.view.finished:
            return
        await asyncio.sleep(room.tick_s)


def war_room(run_dir: str | Path, tick_s: float = 1.0) -> WarRoom:
    """Show the war-room page of ``run_dir`` in this kernel and keep it fresh."""
    from IPython.display import display  # there in a kernel; the library imports without IPython

    room = WarRoom(run_dir, tick_s)
    display(room.widget)
    asyncio.get_event_loop().create_task(_keep_fresh(room))
    return room


def tick_for(plan_interval_s: float, compress: float) -> float:
    """The page's refresh: the plan's evaluation interval on the run's clock, within 0.25–1 s."""
    return min(1.0, max(0.25, plan_interval_s / compress))


def war_room_notebook(run_dir: Path, tick_s: float) -> nbformat.NotebookNode:
    call = f"wr.war_room({str(run_dir.resolve())!r}, tick_s={tick_s!r})"
    code = f"import launchlib.report.warroom_page as wr\n\n{call}"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f"# War room — {run_dir.name}"), nbformat.v4.new_code_cell(code)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


class PageServer:
    """Voilà serving the war-room page of a run (which may not have begun yet), on 127.0.0.1;
    :meth:`stop` ends it and removes its temporary folder. Its log is ``log``."""

    def __init__(self, run_dir: Path, *, port: int, tick_s: float) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="launchlib-warroom-"))
        nbformat.write(war_room_notebook(run_dir, tick_s), self.tmp / PAGE_FILE)
        self.url, self.log = f"http://127.0.0.1:{port}/", self.tmp / "voila.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                voila_command(self.tmp / PAGE_FILE, port), cwd=self.tmp, stdout=out, stderr=out
            )

    def stop(self) -> None:
        """Voilà and the page's kernel (by PID: its children, never by name)."""
        try:
            kernels = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kernels = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _, alive = psutil.wait_procs(kernels, timeout=5)
        for k in alive:
            k.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> PageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def plan_interval_s() -> float:
    """The project's plan evaluation interval (launch seconds), for the page's refresh."""
    return load_plan(project_path("parameters/plan.yaml")).monitoring.interval_s
