"""launchlib: rehearse, run and analyse a production launch from its war-room plan.

Importing this package starts nothing and imports little: the public names below are
loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Condition",
    "GateResult",
    "Item",
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
    "RunError",
    "SignState",
    "SimServer",
    "TargetError",
    "Threshold",
    "Tier",
    "checklist",
    "checklist_chart",
    "dry_run",
    "exit_code",
    "export_markdown",
    "go_no_go",
    "import_markdown",
    "latency_chart",
    "load_plan",
    "load_scenario",
    "load_signoffs",
    "monitor_chart",
    "notebook_parameters",
    "open_phase",
    "parse_threshold",
    "pre_launch_phases",
    "read_events",
    "read_manifest",
    "read_results",
    "read_run_samples",
    "rehearse",
    "run_phase",
    "run_single",
    "save_plan",
    "score",
    "show",
    "sign",
    "timeline_chart",
]

_WHERE = {
    "Condition": "launchlib.thresholds",
    "Threshold": "launchlib.thresholds",
    "parse_threshold": "launchlib.thresholds",
    "Item": "launchlib.plan",
    "Phase": "launchlib.plan",
    "Plan": "launchlib.plan",
    "Tier": "launchlib.plan",
    "LaunchError": "launchlib.errors",
    "LedgerError": "launchlib.errors",
    "PlanError": "launchlib.errors",
    "RunError": "launchlib.errors",
    "TargetError": "launchlib.errors",
    "export_markdown": "launchlib.mdexport",
    "import_markdown": "launchlib.markdown",
    "load_plan": "launchlib.planfile",
    "save_plan": "launchlib.planfile",
    "Ledger": "launchlib.ledger",
    "SignState": "launchlib.ledger",
    "sign": "launchlib.signoff",
    "load_signoffs": "launchlib.signoff",
    "go_no_go": "launchlib.gates",
    "pre_launch_phases": "launchlib.gates",
    "GateResult": "launchlib.gates",
    "checklist": "launchlib.widgets",
    "open_phase": "launchlib.context",
    "PhaseContext": "launchlib.context",
    "run_phase": "launchlib.phases",
    "PhaseResult": "launchlib.result",
    "read_results": "launchlib.result",
    "show": "launchlib.charts",
    "latency_chart": "launchlib.charts",
    "monitor_chart": "launchlib.charts",
    "checklist_chart": "launchlib.charts",
    "timeline_chart": "launchlib.charts",
    "read_run_samples": "launchlib.runlog",
    "read_events": "launchlib.runlog",
    "rehearse": "launchlib.runner",
    "exit_code": "launchlib.runner",
    "run_single": "launchlib.execute",
    "PhaseParams": "launchlib.params",
    "notebook_parameters": "launchlib.params",
    "dry_run": "launchlib.dryrun",
    "Manifest": "launchlib.archive",
    "read_manifest": "launchlib.archive",
    "score": "launchlib.scorecard",
    "Monitor": "launchlib.monitor",
    "SimServer": "launchlib.simserver",
    "load_scenario": "launchlib.faults",
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
