"""The rehearsal runner: every phase notebook in order with papermill, rollback on a decision.

One Python process drives all phases (kernel start-up is the floor; see ``bench/``). With no
target it starts the simulator with the scenario's faults; from T-0 on a :class:`Monitor`
samples and watches without a break between notebooks. A phase that ends on a rollback
decision is followed at once by the rollback notebook; the remaining launch phases are skipped
and the run goes on to the review. A NO-GO at the gate stops the run there. Each phase is
archived (notebook, HTML) and the manifest rewritten as it goes, so a partial run stays readable.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from launchlib.archive import Manifest, PhaseEntry, create_run, render_html, write_index, write_manifest
from launchlib.context import project_path
from launchlib.errors import RunError
from launchlib.faults import load_scenario
from launchlib.kernels import KernelPool
from launchlib.monitor import Monitor
from launchlib.phases import phase_kind
from launchlib.planfile import load_plan
from launchlib.result import RESULT_SCRAP, PhaseResult, PhaseStatus
from launchlib.rollback import PHASE as ROLLBACK
from launchlib.runlog import DECISIONS, read_jsonl, rollback_decision
from launchlib.scorecard import score
from launchlib.target import DEFAULT_TOKEN_ENV, Target

__all__ = ["NOTEBOOKS", "execute_phase", "rehearse"]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
Progress = Callable[[str], None]


def execute_phase(
    phase: str,
    run_dir: Path,
    params: dict[str, Any],
    notebooks: Path = NOTEBOOKS,
    pool: KernelPool | None = None,
    render: bool = True,
) -> PhaseResult:
    """Run ``notebooks/<phase>.ipynb`` into the run folder (on a warm kernel from ``pool``)."""
    import papermill as pm
    import scrapbook as sb

    src, out = notebooks / f"{phase}.ipynb", run_dir / f"{phase}.ipynb"
    if not src.exists():
        raise RunError(f"{src}: no notebook for phase {phase}", phase=phase)
    km = pool.take() if pool else None
    try:
        pm.execute_notebook(
            str(src),
            str(out),
            parameters={"phase": phase, **params},
            progress_bar=False,
            cwd=str(run_dir),
            **({"km": km} if km is not None else {}),
        )
    except pm.PapermillExecutionError as exc:
        raise RunError(
            f"{out}: phase {phase} failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue)[:300]}",
            phase=phase,
            cell=exc.exec_count,
        ) from None
    finally:
        if km is not None and pool is not None:
            pool.release(km)
        if render and out.exists():
            render_html(out, run_dir / f"{phase}.html")
    scrap = sb.read_notebook(str(out)).scraps.get(RESULT_SCRAP)
    if scrap is None:
        raise RunError(f"{out}: the notebook glued no {RESULT_SCRAP}", phase=phase)
    return PhaseResult.model_validate(scrap.data)


def _params(
    run_dir: Path,
    target_url: str,
    compress: float,
    signoffs: str,
    *,
    external_monitor: bool,
    database_url_env: str = "",
    docker_project: str = "",
) -> dict[str, Any]:
    """The notebooks' parameters for a run folder (absolute paths: kernels run in the folder)."""
    return {
        "run_dir": str(run_dir.resolve()),
        "plan_path": str((run_dir / "plan.yaml").resolve()),
        "target_url": target_url,
        "compress": compress,
        "signoffs": str(Path(signoffs).resolve()) if signoffs else "",
        "external_monitor": external_monitor,
        "database_url_env": database_url_env,
        "docker_project": docker_project,
    }


def _entry(phase: str, res: PhaseResult | None, status: str = "", reason: str = "") -> PhaseEntry:
    if res is None:
        return PhaseEntry(phase=phase, status=status, reason=reason)
    return PhaseEntry(
        phase=phase,
        status=res.status.value,
        reason=res.reason,
        started=res.started,
        finished=res.finished,
        notebook=f"{phase}.ipynb",
        html=f"{phase}.html",
    )


def rehearse(
    scenario: str = "latency-spike",
    *,
    run_id: str | None = None,
    reports: Path | str = "reports",
    target_url: str = "",
    compress: float = 30.0,
    plan_path: Path | str = "parameters/plan.yaml",
    signoffs: Path | str = "parameters/signoffs/rehearsal.yaml",
    notebooks: Path = NOTEBOOKS,
    progress: Progress = print,
) -> tuple[Path, Manifest]:
    """Run a whole rehearsal; returns the run folder and its manifest (see the module doc)."""
    plan_path, signoffs = project_path(str(plan_path)), project_path(str(signoffs))
    plan, sc = load_plan(plan_path), load_scenario(scenario, project_path("parameters/scenarios"))
    run_dir = create_run(reports, run_id or f"{sc.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copyfile(plan_path, run_dir / "plan.yaml")
    from launchlib.yamlfile import dump_yaml

    dump_yaml(sc.model_dump(mode="json"), run_dir / "scenario.yaml")
    server = None
    kernel_env: dict[str, str] = {}
    if not target_url:
        from launchlib.sim import SimConfig
        from launchlib.simserver import SimServer

        cfg = SimConfig(
            seed=sc.seed,
            previous=plan.releases.previous,
            candidate=plan.releases.candidate,
            restart_s=15.0 / compress,
            compress=compress,
        )
        server = SimServer("127.0.0.1", 0, cfg, list(sc.faults)).start()
        target_url = server.url
        # the notebooks' kernels read the admin token by name, as they would on launch day
        kernel_env[DEFAULT_TOKEN_ENV] = os.environ.get(DEFAULT_TOKEN_ENV, cfg.admin_token)
    m = Manifest(
        run_id=run_dir.name,
        scenario=sc.name,
        target=target_url,
        plan_hash=plan.digest(),
        compress=compress,
        started=time.time(),
    )
    write_manifest(run_dir, m)
    params = _params(run_dir, target_url, compress, str(signoffs), external_monitor=True)
    params["scenario"] = str((run_dir / "scenario.yaml").resolve())
    monitor: Monitor | None = None
    pool = KernelPool(str(run_dir.resolve()), kernel_env)
    results: dict[str, PhaseResult] = {}
    rolled_back = stopped = False
    ids = [p.id for p in plan.phases]
    try:
        for n, phase in enumerate(ids, 1):
            kind = phase_kind(plan, phase)
            if stopped or (rolled_back and kind in ("watch", "success")):
                why = "stopped at the go/no-go gate" if stopped else "launch rolled back"
                m.phases.append(_entry(phase, None, PhaseStatus.SKIPPED.value, why))
                progress(f"[{n:2d}/{len(ids)}] {phase:6s} skipped ({why})")
                continue
            if kind == "deploy" and monitor is None:
                monitor = Monitor(plan, Target(target_url), run_dir, compress=compress).start()
            res = _run(phase, run_dir, params, notebooks, m, progress, f"[{n:2d}/{len(ids)}]", pool)
            results[phase] = res
            if kind == "gate" and res.status is PhaseStatus.FAILED:
                stopped, m.gate, m.outcome = True, res.gate, "no-go"
            elif kind == "gate":
                m.gate = res.gate
            decision = rollback_decision(run_dir)
            if decision is not None and not rolled_back and kind != "review":
                m.decisions = [decision]
                rb = _run(ROLLBACK, run_dir, params, notebooks, m, progress, "[ rollback]", pool)
                m.rollback, rolled_back = rb.rollback, True
        if m.outcome == "running":
            m.outcome = (
                "rolled back"
                if rolled_back
                else (
                    "launched"
                    if all(r.status is PhaseStatus.PASSED for r in results.values())
                    else "launched with findings"
                )
            )
    except RunError as exc:
        m.outcome, m.error = "error", {"phase": exc.phase, "cell": exc.cell, "message": str(exc)}
        raise
    finally:
        if monitor is not None:
            monitor.stop()
        if server is not None:
            server.stop()
        pool.close()
        for entry in m.phases:  # HTML last: it never delays a phase, least of all a rollback
            if entry.notebook and (run_dir / entry.notebook).exists():
                render_html(run_dir / entry.notebook, run_dir / f"{entry.phase}.html")
        m.decisions = [r for r in read_jsonl(run_dir / DECISIONS)]
        m.finished = time.time()
        gate_go = None if m.gate is None else bool(m.gate.get("go"))
        m.scorecard = score(run_dir, plan, sc, compress, gate_go)
        write_manifest(run_dir, m)
        write_report(run_dir, m)
        write_index(reports)
    return run_dir, m


def _run(
    phase: str,
    run_dir: Path,
    params: dict[str, Any],
    notebooks: Path,
    m: Manifest,
    progress: Progress,
    tag: str,
    pool: KernelPool,
) -> PhaseResult:
    started = time.perf_counter()
    try:
        res = execute_phase(phase, run_dir, params, notebooks, pool, render=False)
    except RunError as exc:
        m.phases.append(
            PhaseEntry(
                phase=phase, status="error", reason=str(exc), notebook=f"{phase}.ipynb", html=f"{phase}.html"
            )
        )
        progress(f"{tag} {phase:6s} ERROR {exc}")
        raise
    m.phases.append(_entry(phase, res))
    write_manifest(run_dir, m)
    why = f" — {res.reason}" if res.reason else ""
    progress(f"{tag} {phase:6s} {res.status.value:11s} {time.perf_counter() - started:5.1f} s{why[:160]}")
    return res


def write_report(run_dir: Path, m: Manifest) -> Path:
    """``report.html``: the run at a glance, linking every phase's HTML."""
    import html

    sc = m.scorecard
    rows = "".join(
        f"<tr><td>{html.escape(p.phase)}</td><td class='{p.status}'>{html.escape(p.status)}</td>"
        f"<td>{'' if p.started is None or p.finished is None else f'{p.finished - p.started:.1f} s'}</td>"
        f"<td>{html.escape(p.reason)}</td>"
        f"<td>{f'<a href={chr(39)}{p.html}{chr(39)}>notebook</a>' if p.html else ''}</td></tr>"
        for p in m.phases
    )
    card = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in sc.items())
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(m.run_id)}</title><style>"
        "body{font-family:sans-serif}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
        ".passed,.rolled_back{color:#2e7d32}.failed,.error{color:#c62828}.skipped{color:#777}</style></head><body>"
        f"<h1>Run {html.escape(m.run_id)}: {html.escape(m.outcome)}</h1>"
        f"<p>scenario {html.escape(m.scenario or '-')} · target {html.escape(m.target)}"
        f" · compression {m.compress:g}× · plan {m.plan_hash[:12]}</p>"
        f"<h2>Phases</h2><table>{rows}</table><h2>Scorecard</h2><table>{card}</table>"
        "</body></html>"
    )
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


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
    notebooks: Path = NOTEBOOKS,
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
    run_dir = Path(reports) / run_id
    if not run_dir.exists():
        create_run(reports, run_id)
        shutil.copyfile(plan_path, run_dir / "plan.yaml")
    if (run_dir / f"{phase}.ipynb").exists():
        raise RunError(f"{run_dir / phase}.ipynb exists: phase {phase} already ran in this run", phase=phase)
    params = _params(
        run_dir,
        target_url,
        compress,
        signoffs,
        external_monitor=external_monitor,
        database_url_env=database_url_env,
        docker_project=docker_project,
    )
    res = execute_phase(phase, run_dir, params, notebooks)
    return res, run_dir / f"{phase}.html"
