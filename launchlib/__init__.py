"""launchlib: rehearse, run and analyse a production launch from its war-room plan.

Importing this package starts nothing and imports little: the public names below are
loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Condition",
    "DecisionRecord",
    "FiringRecord",
    "GateRecord",
    "GateResult",
    "Item",
    "JudgeSettings",
    "LaunchError",
    "Ledger",
    "LedgerError",
    "Manifest",
    "Monitor",
    "Phase",
    "PhaseContext",
    "PhaseParams",
    "PhaseResult",
    "Plan",
    "PlanError",
    "RollbackRecord",
    "RunError",
    "Scorecard",
    "SignState",
    "SimServer",
    "TargetError",
    "Threshold",
    "Tier",
    "analyse_runs",
    "checklist",
    "checklist_chart",
    "dry_run",
    "exit_code",
    "export_markdown",
    "go_no_go",
    "import_markdown",
    "latency_chart",
    "load_plan",
    "load_run",
    "load_scenario",
    "load_signoffs",
    "monitor_chart",
    "notebook_parameters",
    "open_phase",
    "parse_threshold",
    "pre_launch_phases",
    "read_decisions",
    "read_events",
    "read_manifest",
    "read_results",
    "read_run_samples",
    "rehearse",
    "resolve_runs",
    "run_phase",
    "run_single",
    "save_plan",
    "score",
    "show",
    "sign",
    "timeline_chart",
    "times_figure",
    "variant_grid",
]

_WHERE = {
    "Condition": "launchlib.plan.thresholds",
    "Threshold": "launchlib.plan.thresholds",
    "parse_threshold": "launchlib.plan.thresholds",
    "Item": "launchlib.plan.model",
    "Phase": "launchlib.plan.model",
    "Plan": "launchlib.plan.model",
    "Tier": "launchlib.plan.model",
    "LaunchError": "launchlib.errors",
    "LedgerError": "launchlib.errors",
    "PlanError": "launchlib.errors",
    "RunError": "launchlib.errors",
    "TargetError": "launchlib.errors",
    "export_markdown": "launchlib.plan.md_export",
    "import_markdown": "launchlib.plan.md_import",
    "load_plan": "launchlib.plan.files",
    "save_plan": "launchlib.plan.files",
    "Ledger": "launchlib.signoff.ledger",
    "SignState": "launchlib.signoff.ledger",
    "sign": "launchlib.signoff.rules",
    "load_signoffs": "launchlib.signoff.rules",
    "go_no_go": "launchlib.signoff.gates",
    "pre_launch_phases": "launchlib.signoff.gates",
    "GateResult": "launchlib.signoff.gates",
    "checklist": "launchlib.signoff.widgets",
    "open_phase": "launchlib.launch.context",
    "PhaseContext": "launchlib.launch.context",
    "run_phase": "launchlib.launch.phases",
    "PhaseResult": "launchlib.runfolder.result",
    "read_results": "launchlib.runfolder.result",
    "show": "launchlib.report.charts",
    "latency_chart": "launchlib.report.charts",
    "monitor_chart": "launchlib.report.charts",
    "checklist_chart": "launchlib.report.charts",
    "timeline_chart": "launchlib.report.charts",
    "read_run_samples": "launchlib.runfolder.events",
    "read_events": "launchlib.runfolder.events",
    "rehearse": "launchlib.runner.rehearse",
    "exit_code": "launchlib.runner.rehearse",
    "run_single": "launchlib.runner.execute",
    "PhaseParams": "launchlib.launch.params",
    "notebook_parameters": "launchlib.launch.params",
    "dry_run": "launchlib.runner.dryrun",
    "Manifest": "launchlib.runfolder.folder",
    "DecisionRecord": "launchlib.runfolder.records",
    "FiringRecord": "launchlib.runfolder.records",
    "GateRecord": "launchlib.runfolder.records",
    "RollbackRecord": "launchlib.runfolder.records",
    "Scorecard": "launchlib.runfolder.records",
    "read_decisions": "launchlib.runfolder.records",
    "read_manifest": "launchlib.runfolder.folder",
    "score": "launchlib.report.scorecard",
    "Monitor": "launchlib.launch.monitor",
    "SimServer": "launchlib.simulator.server",
    "load_scenario": "launchlib.simulator.scenarios",
    "resolve_runs": "launchlib.report.analysis",
    "analyse_runs": "launchlib.report.analysis",
    "times_figure": "launchlib.report.analysis",
    "variant_grid": "launchlib.evaluation.whatif",
    "JudgeSettings": "launchlib.evaluation.judge",
    "load_run": "launchlib.report.run_data",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'launchlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
