"""Carry the kit's notebooks and parameters inside the wheel, as ``launchlib/_kit``.

``notebooks/`` and ``parameters/`` at the top of the repository stay the single source; the
build copies them into the package so that an installed kit finds them
(:mod:`launchlib.plan.locations`). An editable install reads them from the checkout instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
KIT = ("notebooks", "parameters")


class BuildWithKit(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "launchlib" / "_kit"
        for part in KIT:
            shutil.rmtree(target / part, ignore_errors=True)
            shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns(".*", "__pycache__"))


setup(cmdclass={"build_py": BuildWithKit})
