"""Execute one phase notebook with papermill on a kernel launchlib started, and read its result.

Papermill's ``cwd=`` changes the working directory of the *whole process* while a notebook
runs, which moved the runner's threads under them; so it is never used here. The kernel starts
in the run folder instead (``KernelPool``/``start_kernel``) and every path handed to a notebook
is absolute. A notebook that fails after gluing its result still yields that result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from jupyter_client.manager import KernelManager

from launchlib.errors import KernelDied, PlanError, RunBroken, RunError
from launchlib.launch.params import PhaseParams, check_notebook_parameters
from launchlib.launch.rollback import PHASE as ROLLBACK
from launchlib.launch.telemetry import source_problems
from launchlib.plan.files import load_plan
from launchlib.plan.locations import notebooks_folder, project_path
from launchlib.report.html import render_html
from launchlib.report.repair import repair_run
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.folder import check_run_id, create_run
from launchlib.runfolder.result import RESULT_SCRAP, PhaseResult
from launchlib.runner.kernels import KernelPool, how_it_ended, start_kernel

__all__ = ["execute_phase", "run_single"]


def _glued(out: Path) -> PhaseResult | None:
    import scrapbook as sb  # heavy (papermill, nbformat): only when a notebook ran

    if not out.exists():
        return None
    scrap = sb.read_notebook(str(out)).scraps.get(RESULT_SCRAP)
    return None if scrap is None else PhaseResult.model_validate(scrap.data)


def _kernel(run_dir: Path, pool: KernelPool | None, phase: str) -> tuple[KernelManager, str | None]:
    """A kernel for ``phase``: the pool's (the reserved one for the rollback), or one of its own
    with its socket folder (returned, to remove after)."""
    if pool is not None:
        return pool.take(reserved=phase == ROLLBACK, phase=phase), None
    own = tempfile.mkdtemp(prefix="launchlib-kernels-")
    return start_kernel(str(run_dir), {}, own, warm=False), own


def _give_back(km: KernelManager, pool: KernelPool | None, own: str | None) -> None:
    if pool is not None:
        pool.release(km)
    else:
        km.shutdown_kernel(now=True)
        shutil.rmtree(own or "", ignore_errors=True)


def execute_phase(
    params: PhaseParams,
    run_dir: Path,
    notebooks: Path | None = None,
    pool: KernelPool | None = None,
    render: bool = True,
    checked: bool = False,
) -> PhaseResult:
    """Run ``notebooks/<phase>.ipynb`` into the run folder on a kernel of ``pool`` (or a new one).

    ``checked``: the caller already checked the notebook's parameters (the rehearsal checks them
    all before it starts; papermill's inspection costs a quarter second of the runner's CPU).
    The rollback runs on the pool's reserved kernel.

    Raises :class:`RunBroken` when the notebook crashed before gluing its result (with the phase
    and cell; ``ename`` KeyboardInterrupt when it was interrupted), :class:`KernelDied` when its
    kernel ended under it (what the notebook had written is kept).
    """
    import papermill as pm  # heavy (nbclient, jupyter_client): only when a notebook runs
    from nbclient.exceptions import DeadKernelError  # heavy (nbclient): only when a notebook runs

    phase = params.phase
    notebooks = notebooks or notebooks_folder()
    src, out = notebooks / f"{phase}.ipynb", RunFolder(run_dir).notebook(phase)
    if not src.exists():
        raise RunError(f"{src}: no notebook for phase {phase}", phase=phase)
    problems = [] if checked else check_notebook_parameters(src, params.to_papermill())
    if problems:
        raise PlanError(problems)
    km, own = _kernel(run_dir, pool, phase)
    try:
        pm.execute_notebook(str(src), str(out), parameters=params.to_papermill(), progress_bar=False, km=km)
    except pm.PapermillExecutionError as exc:
        res = _glued(out)
        if res is not None:
            return res
        raise RunBroken(
            f"{out}: phase {phase} failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue)[:300]}",
            phase=phase,
            cell=exc.exec_count,
        ) from None
    except DeadKernelError:
        how = how_it_ended(km)
        raise KernelDied(f"kernel died ({how}) during {phase}", phase=phase, how=how) from None
    finally:
        _give_back(km, pool, own)
        if render and out.exists():
            render_html(out, RunFolder(run_dir).page(phase))
    res = _glued(out)
    if res is None:
        raise RunBroken(f"{out}: the notebook glued no {RESULT_SCRAP}", phase=phase)
    return res


def run_single(
    phase: str,
    *,
    run_id: str,
    reports: Path | str = "reports",
    target_url: str = "",
    compress: float = 1.0,
    plan_path: Path | str = "parameters/plan.yaml",
    signoffs: str = "",
    external_monitor: bool = False,
    database_url_env: str = "",
    docker_project: str = "",
    notebooks: Path | None = None,
    source: str = "samples",
    prometheus_url: str = "",
) -> tuple[PhaseResult, Path]:
    """One phase now, into ``reports/<run-id>`` (created on first use, appended to after).

    ``database_url_env`` names the environment variable holding the PostgreSQL URL whose
    backup the checks verify and the database rollback restores (empty: the simulator's);
    ``docker_project`` the compose project whose release containers deploy and roll back.
    """
    if docker_project and not target_url:
        raise RunError("--docker-project needs --target: the URL the project's API answers on")
    if database_url_env and not os.environ.get(database_url_env):
        raise RunError(f"--database-url-env: {database_url_env} is not set (a PostgreSQL connection URL)")
    reports, plan_path = Path(reports).absolute(), Path(project_path(str(plan_path)))
    notebooks = notebooks or notebooks_folder()
    run_dir = reports / check_run_id(run_id)
    repair_run(run_dir)  # a run whose runner died is marked interrupted before more is added
    folder = RunFolder(run_dir)
    plan = load_plan(folder.plan(plan_path))  # bad plan: nothing made
    # the Prometheus a phase judges from must answer and know the plan's queries: checked first
    problems = source_problems(plan, str(plan_path), source, prometheus_url, own=False, embedded=False)
    if problems:
        raise PlanError(problems)
    if not run_dir.exists():
        create_run(reports, run_id)
    if not folder.plan_file.exists():  # e.g. a folder `launchlib monitor` started
        shutil.copyfile(plan_path, folder.plan_file)
    if folder.notebook(phase).exists():
        raise RunError(f"{run_dir / phase}.ipynb exists: phase {phase} already ran in this run", phase=phase)
    params = PhaseParams(
        phase=phase,
        run_dir=str(run_dir),
        plan_path=str(folder.plan_file),
        target_url=target_url,
        compress=compress,
        signoffs=str(Path(signoffs).absolute()) if signoffs else "",
        external_monitor=external_monitor,
        database_url_env=database_url_env,
        docker_project=docker_project,
        source=source,
        prometheus_url=prometheus_url,
    )
    res = execute_phase(params, run_dir, notebooks)
    return res, folder.page(phase)
