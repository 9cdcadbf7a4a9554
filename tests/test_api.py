"""The public API is pinned, and importing launchlib is cheap."""

from __future__ import annotations

import subprocess
import sys

import launchlib

PUBLIC = {
    "DecisionRecord",
    "FiringRecord",
    "GateRecord",
    "RollbackRecord",
    "Scorecard",
    "read_decisions",
    "resolve_runs",
    "analyse_runs",
    "times_figure",
    "traffic_figure",
    "variant_grid",
    "JudgeSettings",
    "load_run",
    "Condition",
    "Item",
    "LaunchError",
    "LedgerError",
    "Phase",
    "Plan",
    "PlanError",
    "PrometheusSource",
    "RunError",
    "TargetError",
    "Threshold",
    "Tier",
    "export_markdown",
    "import_markdown",
    "load_plan",
    "parse_threshold",
    "save_plan",
    "GateResult",
    "Ledger",
    "Manifest",
    "Monitor",
    "PhaseContext",
    "PhaseResult",
    "SignState",
    "SimServer",
    "checklist",
    "checklist_chart",
    "go_no_go",
    "latency_chart",
    "monitor_chart",
    "load_scenario",
    "load_signoffs",
    "open_phase",
    "pre_launch_phases",
    "read_events",
    "read_manifest",
    "read_results",
    "read_run_samples",
    "rehearse",
    "run_phase",
    "score",
    "show",
    "sign",
    "timeline_chart",
    "PhaseParams",
    "dry_run",
    "exit_code",
    "notebook_parameters",
    "run_single",
    "LaunchClock",
    "RunFolder",
    "TimelineEvent",
    "ItemState",
    "Outcome",
}


def test_public_api_is_pinned() -> None:
    assert set(launchlib.__all__) == PUBLIC
    for name in launchlib.__all__:
        assert getattr(launchlib, name) is not None


def test_import_is_cheap() -> None:
    heavy = "('pandas', 'pydantic', 'httpx', 'plotly')"
    code = f"import sys, launchlib; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
