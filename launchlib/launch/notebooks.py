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

__all__ = ["analysis_notebook", "phase_notebook", "write_notebooks"]

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


ANALYSIS_PARAMETERS = """runs = "reports/*"  # run folders, run ids under `reports` or globs, space-separated
reports = "reports"
threshold_scales = [0.8, 1.0, 1.25]  # what-if: each trigger's threshold ×
window_scales = [0.5, 1.0, 2.0]  # … its window ×
for_scales = [0.5, 1.0, 2.0]  # … its `for` ×
alpha = 0.01  # the judge's significance level (two-sided Mann-Whitney U)"""

ANALYSIS_CELLS = [
    (
        "code",
        """import launchlib as ll

data = ll.resolve_runs(runs, reports)
grid = ll.variant_grid(threshold_scales, window_scales, for_scales)
analysis = ll.analyse_runs(data, grid, ll.JudgeSettings(alpha=alpha))
analysis.glue()
print(analysis.summary())""",
    ),
    ("markdown", "## Scorecards side by side"),
    ("code", "ll.show(ll.times_figure([r.manifest for r in data]))\nanalysis.scorecards"),
    (
        "markdown",
        "## Traffic across runs\n\nPer run, release side (the previous release before the deploy, "
        "the candidate after it, to the decision) and endpoint class: requests, failures and latency "
        "quantiles (nearest-rank), from one DuckDB read of each run's Parquet parts.",
    ),
    ("code", "ll.show(ll.traffic_figure(analysis.traffic))\nanalysis.traffic"),
    (
        "markdown",
        "## Baseline versus candidate\n\nPer endpoint class, before the deploy against after it "
        "(to the decision): Mann-Whitney U, effect size (rank-biserial, > 0: the candidate is worse), "
        "verdict.",
    ),
    ("code", "analysis.verdicts"),
    ("code", "analysis.judged"),
    (
        "markdown",
        "## What if the triggers had been set otherwise\n\nThe recorded samples replayed under "
        "each variant: what would have fired and when, and how much earlier (< 0) or later the decision "
        "would "
        "have come (launch seconds).",
    ),
    ("code", "analysis.what_if"),
    (
        "markdown",
        "## Incidents and sign-offs\n\nEach decision classified by the plan's incident classes, "
        "with detected → acknowledged → decided → resolved on the launch clock; then how long each role "
        "took to sign off after its phase opened.",
    ),
    ("code", "analysis.incidents"),
    ("code", "analysis.signoffs"),
]


def analysis_notebook() -> nbformat.NotebookNode:
    """The post-launch analysis notebook (``launchlib analyse`` runs it)."""
    title = (
        "# Post-launch analysis\n\nRun by `launchlib analyse RUN…`, or alone with "
        "`papermill notebooks/analysis.ipynb out.ipynb -p runs 'reports/*'`."
    )
    cells = [nbformat.v4.new_markdown_cell(title), nbformat.v4.new_code_cell(ANALYSIS_PARAMETERS)]
    cells[1].metadata["tags"] = ["parameters"]
    for kind, text in ANALYSIS_CELLS:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cells.append(make(text))
    for i, cell in enumerate(cells):
        cell["id"] = f"analysis-{i}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_notebooks(plan: Plan, folder: Path) -> list[Path]:
    """One notebook per phase of ``plan``, the rollback and the analysis notebook, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for phase in [*(p.id for p in plan.phases), "rollback"]:
        path = folder / f"{phase}.ipynb"
        nbformat.write(phase_notebook(phase, phase_kind(plan, phase)), path)
        out.append(path)
    nbformat.write(analysis_notebook(), folder / "analysis.ipynb")
    return [*out, folder / "analysis.ipynb"]
