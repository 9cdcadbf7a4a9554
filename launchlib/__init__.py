"""launchlib: rehearse, run and analyse a production launch from its war-room plan.

Importing this package starts nothing and imports little: the public names below are
loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Condition",
    "Item",
    "LaunchError",
    "LedgerError",
    "Phase",
    "Plan",
    "PlanError",
    "RunError",
    "TargetError",
    "Threshold",
    "Tier",
    "export_markdown",
    "import_markdown",
    "load_plan",
    "parse_threshold",
    "save_plan",
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
