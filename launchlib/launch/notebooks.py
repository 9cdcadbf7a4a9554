"""The kit's phase notebooks, written from the plan and :class:`PhaseParams`, thin and without outputs.

Each notebook: a title, a ``parameters`` cell of literal defaults (from :class:`PhaseParams`),
one cell that opens the phase, runs it and glues its result, a chart, the sign-off checklist.
``notebooks/`` holds what :func:`write_notebooks` writes (a test keeps them equal); cell ids are
stable so that a regenerated notebook differs only where its content does.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from launchlib.launch.params import PhaseParams
from launchlib.launch.phases import phase_kind
from launchlib.plan.model import PhaseKind, Plan

__all__ = ["phase_notebook", "write_notebooks"]

OPEN = """import launchlib as ll

with ll.open_phase(**ll.notebook_parameters(globals())) as ctx:
    result = ll.run_phase(ctx)
    result.glue()  # in the same cell: a chart or widget error below cannot lose the result
print(f"{result.phase}: {result.status.value} {result.reason}")"""

CHART = {
    PhaseKind.PRELAUNCH: "ll.show(ll.checklist_chart(result))",
    PhaseKind.GATE: "ll.show(ll.checklist_chart(result))\nprint(*result.gate.reasons, sep='\\n')",
    PhaseKind.DEPLOY: "ll.show(ll.monitor_chart(ctx, result, f'{phase}: baseline and deploy'))",
    PhaseKind.WATCH: "ll.show(ll.monitor_chart(ctx, result, f'{phase}: API latency and failures'))",
    PhaseKind.SUCCESS: "ll.show(ll.monitor_chart(ctx, result, 'Launch window'))\nresult.metrics",
    PhaseKind.ROLLBACK: "ll.show(ll.timeline_chart(ll.read_events(ctx.run_dir), {}))\nresult.rollback",
    PhaseKind.REVIEW: "ll.show(ll.timeline_chart(ll.read_events(ctx.run_dir), "
    "ll.read_results(ctx.run_dir)))\nresult.extra['scorecard']",
}

CHECKLIST: dict[PhaseKind, str | None] = {
    PhaseKind.GATE: "ll.checklist(ctx.plan, ctx.ledger, ll.pre_launch_phases(ctx.plan), "
    "gate_name='go/no-go')",
    PhaseKind.ROLLBACK: None,
}


def phase_notebook(phase: str, kind: PhaseKind) -> nbformat.NotebookNode:
    """The notebook of one phase (or of the rollback)."""
    title = (
        f"# {phase} — {kind.value}\n\nExecuted by `launchlib rehearse`, or alone with "
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
    for i, cell in enumerate(cells):
        cell["id"] = f"{kind.value}-{i}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_notebooks(plan: Plan, folder: Path) -> list[Path]:
    """One notebook per phase of ``plan`` plus the rollback notebook, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for phase in [*(p.id for p in plan.phases), "rollback"]:
        path = folder / f"{phase}.ipynb"
        nbformat.write(phase_notebook(phase, phase_kind(plan, phase)), path)
        out.append(path)
    return out
