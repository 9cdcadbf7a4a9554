"""Write notebooks/<phase>.ipynb (one per plan phase, plus rollback), thin and without outputs.

Run: .venv/bin/python scripts/make_notebooks.py — the notebooks are committed; this keeps
their shape uniform. Each: a ``parameters`` cell of literal defaults, open the phase, run it,
a chart, the sign-off checklist, glue the result.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from launchlib.params import PhaseParams
from launchlib.phases import phase_kind
from launchlib.planfile import load_plan

ROOT = Path(__file__).resolve().parent.parent

OPEN = """import launchlib as ll

with ll.open_phase(**ll.notebook_parameters(globals())) as ctx:
    result = ll.run_phase(ctx)
    result.glue()  # in the same cell: a chart or widget error below cannot lose the result
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
        nbformat.v4.new_code_cell(PhaseParams.cell(phase)),
        nbformat.v4.new_code_cell(OPEN),
        nbformat.v4.new_code_cell(CHART[kind]),
    ]
    cells[1].metadata["tags"] = ["parameters"]
    widget = CHECKLIST.get(kind, "ll.checklist(ctx.plan, ctx.ledger, phase)")
    if widget:
        cells.append(nbformat.v4.new_code_cell(widget))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    plan = load_plan(ROOT / "parameters/plan.yaml")
    for phase in [*(p.id for p in plan.phases), "rollback"]:
        nbformat.write(notebook(phase, phase_kind(plan, phase)), ROOT / "notebooks" / f"{phase}.ipynb")


if __name__ == "__main__":
    main()
