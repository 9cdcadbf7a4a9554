"""Installed, not only checked out: the wheel carries the kit, ``launchlib init`` lays out a project.

Builds the wheel, installs it into a fresh virtual environment that borrows the dependencies of
the test environment (a ``.pth`` to its site-packages, so no download) but gets launchlib only
from the wheel, then runs ``launchlib init`` and a short rehearsal in that project folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT

from launchlib.errors import PlanError
from launchlib.runner.project import init_project


@pytest.mark.slow
def test_the_wheel_installs_inits_and_rehearses(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("launchlib-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")  # the borrowed deps' data files
    where = subprocess.run(
        [str(py), "-c", "import launchlib.plan.locations as l; print(l.__file__); print(l.KIT_ROOT)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(venv)) and where[1].endswith("launchlib/_kit"), where  # not the checkout
    project = tmp_path / "my-launch"
    launchlib = str(venv / "bin" / "launchlib")
    init = subprocess.run(
        [launchlib, "init", str(project)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert init.returncode == 0, init.stderr
    assert (project / "parameters" / "plan.yaml").exists() and (project / "notebooks" / "T-0.ipynb").exists()
    assert len(list((project / "parameters" / "scenarios").glob("*.yaml"))) >= 13
    ready = subprocess.run(
        [launchlib, "rehearse", "--dry-run", "--scenario", "security-breach"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
    )
    assert ready.returncode == 0 and "ready" in ready.stdout, ready.stdout + ready.stderr
    # one phase notebook of the installed kit on a kernel, against the embedded simulator (the
    # whole rehearsal is the README run's; here what matters is what the wheel carries)
    run = subprocess.run(
        [
            launchlib,
            "run-phase",
            "T-6h",
            "--run-id",
            "first",
            "--signoffs",
            "parameters/signoffs/rehearsal.yaml",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (project / "reports" / "first" / "T-6h.html").exists()
    again = subprocess.run([launchlib, "init", str(project)], capture_output=True, text=True, env=env)
    assert again.returncode == 2 and "already here" in again.stderr


def test_init_from_a_markdown_plan(tmp_path: Path, seed_path: Path) -> None:
    assert init_project(tmp_path / "p", seed_path) == []
    assert "Imported from war-room-plan.md" in (tmp_path / "p" / "parameters" / "plan.yaml").read_text()
    assert len(list((tmp_path / "p" / "notebooks").glob("*.ipynb"))) == 12  # 10 phases, rollback, analysis
    with pytest.raises(PlanError, match="already here"):
        init_project(tmp_path / "p")
    bad = tmp_path / "bad.md"
    bad.write_text("# nothing\n")
    with pytest.raises(PlanError):
        init_project(tmp_path / "q", bad)
    assert not (tmp_path / "q").exists()  # refused before anything was made
