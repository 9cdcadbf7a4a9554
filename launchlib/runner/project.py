"""``launchlib init``: lay out a launch project a team works in, from the kit (checkout or wheel).

A project folder holds ``parameters/`` (the plan, the rehearsal scenarios, the sign-off files),
``notebooks/`` (one per phase, written for this plan) and ``reports/``. With ``--from PLAN.md``
the plan is imported from the team's own Markdown plan in the seed's format; otherwise it is the
kit's reference plan. An existing project is never overwritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from launchlib.errors import PlanError, Problem
from launchlib.launch.notebooks import write_notebooks
from launchlib.plan.files import check_plan, load_plan, save_plan
from launchlib.plan.locations import kit_path
from launchlib.plan.md_import import import_markdown

__all__ = ["init_project"]

_README = """# {name}: a launch project

Made by `launchlib init`. Rehearse the launch against the embedded simulator, from this folder:

    launchlib plan validate
    launchlib rehearse --scenario latency-spike

`parameters/plan.yaml` is the war-room plan, `parameters/scenarios/` the rehearsal scenarios,
`parameters/signoffs/` headless sign-offs; `notebooks/` one notebook per phase; every run lands
in `reports/<run-id>/`.
"""


def init_project(folder: Path, from_markdown: Path | None = None) -> list[str]:
    """Create the project in ``folder``; returns warnings of the Markdown import, if any."""
    folder = folder.absolute()
    plan_file = folder / "parameters/plan.yaml"  # the project's plan
    if plan_file.exists():
        raise PlanError(
            [Problem(str(plan_file), "", "a launch project is already here; nothing was changed")]
        )
    if folder.exists() and not folder.is_dir():
        raise PlanError([Problem(str(folder), "", "is a file, not a folder")])
    warnings: list[str] = []
    if from_markdown is not None:
        result = import_markdown(from_markdown)  # bad Markdown is refused before anything is made
        plan = result.plan
        warnings = result.warnings + [f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in check_plan(plan)]
    else:
        plan = load_plan(kit_path("parameters/plan.yaml"))
    (folder / "parameters").mkdir(parents=True, exist_ok=True)
    for part in ("scenarios", "signoffs"):
        shutil.copytree(kit_path(f"parameters/{part}"), folder / "parameters" / part, dirs_exist_ok=True)
    if from_markdown is None:
        shutil.copyfile(kit_path("parameters/plan.yaml"), plan_file)
    else:
        save_plan(plan, plan_file, header=f"# Imported from {from_markdown.name} by launchlib init\n")
    write_notebooks(plan, folder / "notebooks")
    (folder / "reports").mkdir(exist_ok=True)
    readme = folder / "README.md"
    if not readme.exists():
        readme.write_text(_README.format(name=folder.name), encoding="utf-8")
    return warnings
