"""The phase notebooks' parameters: one dataclass writes the cell, feeds papermill and open_phase.

:class:`PhaseParams` is the single list of what a phase notebook takes. The notebook generator
writes its ``parameters`` cell from it, the runner passes its fields to papermill, and the
notebook hands its namespace back through :func:`notebook_parameters`, which refuses a name
nobody declared (``papermill … -p compres 60`` fails and lists the real parameters instead of
injecting a variable nobody reads). :func:`check_notebook_parameters` compares a notebook on
disk with the dataclass (papermill's ``inspect_notebook``), for ``--dry-run`` and the runner.
"""

from __future__ import annotations

import types
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from launchlib.errors import PlanError, Problem

__all__ = ["PhaseParams", "check_notebook_parameters", "notebook_parameters"]

# names IPython puts in every namespace, and the notebooks' own variables
_NOT_PARAMETERS = {"In", "Out", "get_ipython", "exit", "quit", "open", "ctx", "result"}


@dataclass
class PhaseParams:
    """What one phase notebook takes; the comment of each field is the parameters cell's comment."""

    phase: str = field(default="", metadata={"doc": "the plan phase (T-24h … T+24h) or rollback"})
    run_dir: str = field(default="", metadata={"doc": "empty: a new run folder under reports/"})
    plan_path: str = field(default="parameters/plan.yaml", metadata={"doc": "the war-room plan"})
    target_url: str = field(default="", metadata={"doc": "empty: an embedded simulator"})
    scenario: str = field(default="", metadata={"doc": "a name under parameters/scenarios/, or a path"})
    compress: float = field(default=30.0, metadata={"doc": "launch seconds per real second"})
    signoffs: str = field(
        default="parameters/signoffs/rehearsal.yaml",
        metadata={"doc": "headless sign-offs; empty: only the widgets"},
    )
    skip_signoffs: list[str] = field(default_factory=list, metadata={"doc": "PHASE/item left unsigned"})
    external_monitor: bool = field(default=False, metadata={"doc": "True when the runner's monitor watches"})
    prometheus_url: str = field(default="", metadata={"doc": "a Prometheus to read metrics from"})
    source: str = field(
        default="samples",
        metadata={"doc": "what the triggers judge: samples (the kit's probe) or prometheus"},
    )
    database_url_env: str = field(
        default="", metadata={"doc": "name of an env variable with a PostgreSQL URL (backups)"}
    )
    docker_project: str = field(
        default="", metadata={"doc": "a compose project on the Docker Engine (DOCKER_HOST) to deploy"}
    )

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_papermill(self) -> dict[str, Any]:
        """The parameters papermill injects (every field: the cell's defaults are for humans)."""
        return asdict(self)

    @classmethod
    def cell(cls, phase: str) -> str:
        """The ``parameters`` cell of a phase notebook: literal defaults, one line each."""
        lines = []
        for f in fields(cls):
            value: Any = phase if f.name == "phase" else f.default
            if value is MISSING and callable(f.default_factory):
                value = f.default_factory()
            lines.append(f"{f.name} = {value!r}  # {f.metadata['doc']}")
        return "\n".join(lines)


def notebook_parameters(namespace: dict[str, Any]) -> dict[str, Any]:
    """A notebook's parameters from its namespace; a name no field declares is an error."""
    known = set(PhaseParams.names())
    unknown = sorted(
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in known
        and name not in _NOT_PARAMETERS
        and not isinstance(value, types.ModuleType)
    )
    if unknown:
        raise PlanError(
            [
                Problem(
                    "notebook parameters",
                    name,
                    f"not a parameter of this notebook (it takes: {', '.join(PhaseParams.names())})",
                )
                for name in unknown
            ]
        )
    return {name: namespace[name] for name in known if name in namespace}


def check_notebook_parameters(notebook: Path, given: dict[str, Any]) -> list[Problem]:
    """What is wrong between a notebook's parameters cell, the dataclass and ``given``."""
    import papermill as pm  # heavy (nbclient, jupyter_client): only to read a notebook's parameters

    try:
        declared = set(pm.inspect_notebook(str(notebook)))
    except Exception as exc:  # papermill raises several types for a missing or broken notebook
        return [Problem(str(notebook), "", f"cannot read its parameters ({exc})")]
    if not declared:
        return [Problem(str(notebook), "parameters", "no cell tagged 'parameters'")]
    out = [
        Problem(str(notebook), name, f"given but not declared (it takes: {', '.join(sorted(declared))})")
        for name in sorted(set(given) - declared)
    ]
    out += [
        Problem(str(notebook), name, "declared by launchlib.PhaseParams but missing in the notebook")
        for name in sorted(set(PhaseParams.names()) - declared)
    ]
    return out
