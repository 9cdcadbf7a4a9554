"""Write notebooks/<phase>.ipynb from the reference plan (see :mod:`launchlib.launch.notebooks`).

Run: .venv/bin/python scripts/make_notebooks.py — the notebooks are committed; a test checks they
equal what this writes.
"""

from __future__ import annotations

from pathlib import Path

from launchlib.launch.notebooks import write_notebooks
from launchlib.plan.files import load_plan

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    write_notebooks(load_plan(ROOT / "parameters/plan.yaml"), ROOT / "notebooks")
