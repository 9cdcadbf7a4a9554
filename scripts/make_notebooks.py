"""Write notebooks/<phase>.ipynb (one per plan phase, plus rollback), thin and without outputs.

Run: .venv/bin/python scripts/make_notebooks.py — the notebooks are committed; this keeps
their shape uniform. Each: a ``parameters`` cell of literal defaults, open the phase, run it,
a chart, the sign-off checklist, glue the result.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from launchlib.phases import phase_kind
from launchlib.planfile import load_plan

ROOT = Path(__file__).resolve().parent.parent

PARAMS = """phase = "{phase}"
run_dir = ""  # empty: a new run folder under reports/
plan_path = "parameters/plan.yaml"
target_url = ""  # empty: an embedded simulator
scenario = ""  # a name under parameters/scenarios/, or a path
compress = 30.0  # launch seconds per real second
signoffs = "parameters/signoffs/rehearsal.yaml"  # headless sign-offs; empty: only the widgets
skip_signoffs = []  # PHASE/item left unsigned
external_monitor = False  # True when the runner's monitor is watching
prometheus_url = ""
database_url_env = ""  # name of an env variable with a PostgreSQL URL, for backup verification
docker_project = ""  # a compose project on the target's Docker Engine (DOCKER_HOST): deploy and roll back"""

OPEN = """import launchlib as ll

ctx = ll.open_phase(phase, run_dir=run_dir, plan_path=plan_path, target_url=target_url, scenario=scenario,
                    compress=compress, signoffs=signoffs, skip_signoffs=skip_signoffs,
                    external_monitor=external_monitor, prometheus_url=prometheus_url,
                    database_url_env=database_url_env, docker_project=docker_project)
result = ll.run_phase(ctx)
print(f"{result.phase}: {result.status.value} {result.reason}")"""

CHART = {
    "pre_launch": "ll.show(ll.checklist_chart(result))",
    "gate": "ll.show(ll.checklist_chart(result))\nprint(*result.gate['reasons'], sep='\\n')",
    "deploy": "ll.show(ll.monitor_chart(ctx, result, f'{phase}: baseline and deploy'))",
    "watch": "ll.show(ll.monitor_chart(ctx, result, f'{phase}: API latency and failures'))",
    "success": "ll.show(ll.monitor_chart(ctx, result, 'Launch window'))\nresult.metrics",
    "rollback": "ll.show(ll.timeline_chart(ll.read_events(ctx.run_dir), {}))\nresult.rollback",
    "review": "ll.show(ll.timeline_chart(ll.read_events(ctx.run_dir), ll.read_results(ctx.run_dir)))\n"
    "result.extra['scorecard']",
}

CHECKLIST = {
    "gate": "ll.checklist(ctx.plan, ctx.ledger, ll.pre_launch_phases(ctx.plan), gate_name='go/no-go')",
    "rollback": None,
}


def notebook(phase: str, kind: str) -> nbformat.NotebookNode:
    title = (
        f"# {phase} — {kind.replace('_', ' ')}\n\nExecuted by `launchlib rehearse`, or alone with "
        f"`papermill notebooks/{phase}.ipynb out.ipynb` (embedded simulator)."
    )
    cells = [
        nbformat.v4.new_markdown_cell(title),
        nbformat.v4.new_code_cell(PARAMS.format(phase=phase)),
        nbformat.v4.new_code_cell(OPEN),
        nbformat.v4.new_code_cell(CHART[kind]),
    ]
    cells[1].metadata["tags"] = ["parameters"]
    widget = CHECKLIST.get(kind, "ll.checklist(ctx.plan, ctx.ledger, phase)")
    if widget:
        cells.append(nbformat.v4.new_code_cell(widget))
    cells.append(nbformat.v4.new_code_cell("result.glue()\nctx.close()"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    plan = load_plan(ROOT / "parameters/plan.yaml")
    for phase in [*(p.id for p in plan.phases), "rollback"]:
        nbformat.write(notebook(phase, phase_kind(plan, phase)), ROOT / "notebooks" / f"{phase}.ipynb")


if __name__ == "__main__":
    main()
