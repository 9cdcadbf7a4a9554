"""Where a launch project's files are: the team's project folder first, then the kit's own copies.

A team works in a project folder (``launchlib init`` lays one out): ``parameters/`` with the plan,
scenarios and sign-off files, ``notebooks/``, ``reports/``. A path given relative is looked up
there (the working directory), then in the kit: the checkout it runs from, or the copies that
travel inside the installed wheel (``launchlib/_kit``). Every path comes back absolute, so nothing
later depends on the working directory.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["KIT_ROOT", "kit_path", "notebooks_folder", "project_path"]


def _kit_root() -> Path:
    package = Path(__file__).resolve().parent.parent  # .../launchlib
    bundled = package / "_kit"
    return bundled if bundled.is_dir() else package.parent


KIT_ROOT = _kit_root()


def kit_path(relative: str) -> Path:
    """A file or folder of the kit itself (``notebooks``, ``parameters/plan.yaml``)."""
    return KIT_ROOT / relative


def project_path(path: str) -> str:
    """``path`` made absolute: as given when it exists, else the kit's copy; empty stays empty.

    A notebook opened in JupyterLab runs in ``notebooks/``; papermill from the project folder
    runs there: both find ``parameters/plan.yaml``.
    """
    if not path:
        return path
    given = Path(path)
    if given.is_absolute() or given.exists():
        return str(given.absolute())
    alt = KIT_ROOT / path
    return str(alt if alt.exists() or alt.parent.exists() else given.absolute())


def notebooks_folder() -> Path:
    """The phase notebooks to run: the project's ``notebooks/`` when it has them, else the kit's."""
    return Path(project_path("notebooks"))
