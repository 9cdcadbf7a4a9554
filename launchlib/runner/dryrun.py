"""``--dry-run``: check everything a rehearsal or a phase needs, run nothing, list every problem.

Plan, scenario, sign-off file, each notebook's parameters against :class:`PhaseParams`
(papermill's ``inspect_notebook``), the run id and reports folder, the target's reachability
and the environment variables the options name. Problems are collected, not stopped at, so one
dry run shows all that must be fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

from launchlib.errors import LaunchError, PlanError, Problem, TargetError
from launchlib.launch.params import PhaseParams, check_notebook_parameters
from launchlib.launch.telemetry import source_problems
from launchlib.plan.files import load_plan
from launchlib.plan.locations import notebooks_folder, project_path
from launchlib.plan.model import Plan
from launchlib.probing.probes import check_health
from launchlib.probing.target import Target
from launchlib.runfolder.folder import RUN_ID
from launchlib.signoff.rules import load_signoffs
from launchlib.simulator.scenarios import Scenario, load_scenario

__all__ = ["dry_run", "fault_problems", "scenario_file"]


def _collect(problems: list[Problem], where: str, exc: LaunchError) -> None:
    if isinstance(exc, PlanError):
        problems.extend(exc.problems)
    else:
        problems.extend(Problem(where, "", line) for line in exc.lines())


def scenario_file(scenario: str) -> str:
    """The file a ``--scenario`` names (a name under parameters/scenarios, or a path)."""
    if scenario.endswith((".yaml", ".yml")):
        return scenario
    return str(Path(project_path("parameters/scenarios")) / f"{scenario}.yaml")


STACK_FAULTS = "a stack takes container_* and bad_rollback"


def fault_problems(sc: Scenario, where: str, target_url: str, docker_project: str) -> list[Problem]:
    """Faults the rehearsal could not inject are bad input: a fault that never happens would
    score a rehearsal that rehearsed nothing."""
    if docker_project and not target_url:
        return [Problem("--docker-project", docker_project, "needs --target, the URL of the stack's service")]
    if docker_project:
        return [
            Problem(where, f"faults[{i}].kind", f"{f.kind.value} is the simulator's; {STACK_FAULTS}")
            for i, f in enumerate(sc.faults)
            if not f.kind.on_stack
        ]
    return [
        Problem(where, f"faults[{i}].kind", f"{f.kind.value} acts on containers: needs --docker-project")
        for i, f in enumerate(sc.faults)
        if f.kind.on_container
    ]


def dry_run(
    *,
    phase: str | None = None,
    scenario: str | None = None,
    run_id: str | None = None,
    reports: Path | str = "reports",
    target_url: str = "",
    compress: float = 30.0,
    plan_path: Path | str = "parameters/plan.yaml",
    signoffs: Path | str = "",
    database_url_env: str = "",
    docker_project: str = "",
    notebooks: Path | None = None,
    must_be_new: bool = True,
    source: str = "samples",
    prometheus_url: str = "",
) -> list[Problem]:
    """Every problem that would stop ``rehearse`` (``phase=None``) or ``run-phase PHASE``."""
    problems: list[Problem] = []
    notebooks = notebooks or notebooks_folder()
    plan: Plan | None = None
    plan_file = project_path(str(plan_path))
    try:
        plan = load_plan(plan_file)
    except LaunchError as exc:
        _collect(problems, plan_file, exc)
    if scenario:
        try:
            sc = load_scenario(scenario, Path(project_path("parameters/scenarios")))
            problems += fault_problems(sc, scenario_file(scenario), target_url, docker_project)
        except LaunchError as exc:
            _collect(problems, scenario, exc)
    if signoffs and plan is not None:
        try:
            load_signoffs(project_path(str(signoffs)), plan)
        except LaunchError as exc:
            _collect(problems, str(signoffs), exc)
    if compress <= 0:
        problems.append(Problem("--compress", "", f"{compress} must be > 0 (launch seconds per real second)"))
    problems += _folder_problems(Path(reports).absolute(), run_id, must_be_new)
    problems += _notebook_problems(plan, plan_file, phase, notebooks)
    problems += _environment_problems(plan, plan_file, database_url_env)
    if target_url:
        probe = check_health(Target(target_url))
        if not probe.passed:
            problems.append(Problem("--target", target_url, f"not reachable or not healthy: {probe.detail}"))
    if docker_project and target_url and plan is not None:
        problems += _stack_problems(plan, target_url, docker_project)
    if plan is not None:  # a rehearsal may start its own Prometheus; a phase on launch day names one
        own, embedded = phase is None, phase is None and not target_url
        problems += source_problems(plan, plan_file, source, prometheus_url, own=own, embedded=embedded)
    return problems


def _folder_problems(folder: Path, run_id: str | None, must_be_new: bool) -> list[Problem]:
    """The reports folder is a folder; the run id is well formed (and new, for a rehearsal)."""
    problems = []
    if folder.exists() and not folder.is_dir():
        problems.append(Problem(str(folder), "--reports", "is a file, not a folder"))
    if run_id is not None:
        if not RUN_ID.match(run_id):
            problems.append(Problem("--run-id", "", f"{run_id!r}: use letters, digits and . _ + - only"))
        elif must_be_new and (folder / run_id).exists():
            problems.append(Problem(str(folder / run_id), "--run-id", "a run with this id already exists"))
    return problems


def _notebook_problems(
    plan: Plan | None, plan_file: str, phase: str | None, notebooks: Path
) -> list[Problem]:
    """The phase exists, and each notebook to run is there and takes the kit's parameters."""
    problems = []
    phases = [phase] if phase else ([p.id for p in plan.phases] + ["rollback"] if plan else [])
    if plan is not None and phase and phase != "rollback" and phase not in {p.id for p in plan.phases}:
        known = ", ".join(p.id for p in plan.phases)
        problems.append(Problem(plan_file, "phase", f"no phase {phase!r} (known: {known})"))
    for ph in phases:
        nb = notebooks / f"{ph}.ipynb"
        if not nb.exists():
            problems.append(Problem(str(nb), "", f"no notebook for phase {ph}"))
            continue
        problems += check_notebook_parameters(nb, PhaseParams(phase=ph).to_papermill())
    return problems


def _environment_problems(plan: Plan | None, plan_file: str, database_url_env: str) -> list[Problem]:
    """Every environment variable the plan or the options name is set (its value never shown)."""
    problems = []
    for i, ch in enumerate(plan.channels if plan is not None else []):
        if ch.delivery is not None and not os.environ.get(ch.delivery.url_env):
            where = f"channels[{i}].delivery.url_env"
            problems.append(
                Problem(plan_file, where, f"{ch.delivery.url_env} is not set ({ch.name}'s webhook URL)")
            )
    repo_env = plan.environment.repository_env if plan is not None else None
    if repo_env and not os.environ.get(repo_env):
        problems.append(Problem(plan_file, "environment.repository_env", f"{repo_env} is not set"))
    if database_url_env and not os.environ.get(database_url_env):
        problems.append(Problem("--database-url-env", database_url_env, "is not set (a PostgreSQL URL)"))
    return problems


def _stack_problems(plan: Plan, target_url: str, project: str) -> list[Problem]:
    """The Docker Engine answers and the project has release containers to deploy and fault."""
    from launchlib.backends.docker import DockerDeployer  # heavy and optional: the docker SDK

    rel = plan.releases
    try:
        dep = DockerDeployer(Target(target_url), project, previous=rel.previous, candidate=rel.candidate)
    except TargetError as exc:
        return [Problem("--docker-project", project, str(exc))]
    try:
        dep.release_containers()
    except TargetError as exc:
        return [Problem("--docker-project", project, str(exc))]
    finally:
        dep.close()
    return []
