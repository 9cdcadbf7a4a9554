"""``launchlib rehearse --all``: every scenario (or a glob of them) rehearsed, one after another.

A test suite for the launch plan: after a change to a threshold, a window or a procedure, one
command says whether every failure the team rehearses is still caught, on which tier, in time.
Rehearsals run one at a time (never two on one core: their timing is what is judged); ``repeat``
runs the whole list K times and the table says how often each scenario held. A signal stops the
matrix after the rehearsal it interrupted; the table is written for what ran.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from pathlib import Path

from launchlib.errors import EXIT_BROKEN, EXIT_FINDINGS, EXIT_OK, RunError
from launchlib.plan.locations import project_path
from launchlib.report.fidelity import FIDELITY_PREFIX, ScenarioFidelity, fidelity, write_fidelity
from launchlib.report.index import write_index
from launchlib.report.run_data import RunData, load_run
from launchlib.runfolder.folder import Outcome
from launchlib.runner.console import Console
from launchlib.runner.dryrun import fault_problems, scenario_file
from launchlib.runner.rehearse import rehearse
from launchlib.simulator.scenarios import list_scenarios, load_scenario

__all__ = ["Matrix", "rehearse_all", "scenarios_matching"]


@dataclass
class Matrix:
    """What ``rehearse --all`` ran and found: the table, its two files, and the exit code."""

    table: list[ScenarioFidelity]
    page: Path
    data: Path
    skipped: dict[str, str] = field(default_factory=dict)  # scenario -> why this target cannot act it
    interrupted: bool = False

    @property
    def missed(self) -> list[str]:
        return [s.scenario for s in self.table if not s.holds]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_BROKEN
        return EXIT_FINDINGS if self.missed else EXIT_OK


def _fitting(names: list[str], target_url: str) -> tuple[list[str], dict[str, str]]:
    """The scenarios this target can act, and why each other one is skipped (a container fault
    needs a compose stack, ``rehearse --docker-project``)."""
    folder, fit, skipped = Path(project_path("parameters/scenarios")), [], {}
    for name in names:
        problems = fault_problems(load_scenario(name, folder), scenario_file(name), target_url, "")
        if problems:
            skipped[name] = problems[0].message
        else:
            fit.append(name)
    return fit, skipped


def scenarios_matching(pattern: str | None, folder: Path | str | None = None) -> list[str]:
    """The project's scenarios whose names match ``pattern`` (a glob; ``None``: all of them)."""
    where = Path(folder or project_path("parameters/scenarios"))
    names = list_scenarios(where)
    chosen = [n for n in names if pattern is None or fnmatch.fnmatchcase(n, pattern)]
    if not chosen:
        raise RunError(f"--scenario {pattern!r}: matches no scenario in {where} (known: {', '.join(names)})")
    return chosen


def rehearse_all(
    pattern: str | None = None,
    *,
    repeat: int = 1,
    reports: Path | str = "reports",
    target_url: str = "",
    compress: float = 30.0,
    plan_path: Path | str = "parameters/plan.yaml",
    signoffs: Path | str = "parameters/signoffs/rehearsal.yaml",
    console: Console | None = None,
    source: str = "samples",
    prometheus_url: str = "",
) -> Matrix:
    """Rehearse every matching scenario ``repeat`` times, one after another, each as
    :func:`~launchlib.runner.rehearse.rehearse` would; then write the fidelity table."""
    if repeat < 1:
        raise RunError(f"--repeat {repeat}: at least 1")
    console = console or Console()
    reports = Path(reports).absolute()
    names, skipped = _fitting(scenarios_matching(pattern), target_url)
    for name, why in skipped.items():
        console.line(f"skipped {name}: {why}")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    total, interrupted = len(names) * repeat, False
    runs: list[RunData] = []
    console.line(f"rehearsing {len(names)} scenario(s) x {repeat}: {', '.join(names)}")
    for k in range(1, repeat + 1):
        for name in names:
            console.line(f"== [{len(runs) + 1}/{total}] {name}" + (f" (repeat {k})" if repeat > 1 else ""))
            run_id = f"{name}-{stamp}" + (f"-r{k}" if repeat > 1 else "")
            try:
                run_dir, m = rehearse(
                    name,
                    run_id=run_id,
                    reports=reports,
                    target_url=target_url,
                    compress=compress,
                    plan_path=plan_path,
                    signoffs=signoffs,
                    console=console,
                    source=source,
                    prometheus_url=prometheus_url,
                )
            except KeyboardInterrupt:  # between two rehearsals: stop here, keep the table of what ran
                interrupted = True
                break
            runs.append(load_run(run_dir))
            if m.kind is Outcome.INTERRUPTED:
                interrupted = True
                break
        if interrupted:
            break
    table = fidelity(runs)
    title = f"Plan test matrix {stamp} UTC: {len(names)} scenario(s) x {repeat}"
    data, page = write_fidelity(reports, f"{FIDELITY_PREFIX}{stamp}", table, title, skipped)
    write_index(reports)
    return Matrix(table, page, data, skipped, interrupted)
