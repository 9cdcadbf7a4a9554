"""Shared fixtures: paths to the repository, the reference plan and the seed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "war-room-plan.md"
PLAN_PATH = ROOT / "parameters" / "plan.yaml"
LAUNCHLIB = str(Path(sys.executable).with_name("launchlib"))


@pytest.fixture(scope="session")
def plan():
    from launchlib.planfile import load_plan

    return load_plan(PLAN_PATH)


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED.exists():
        pytest.skip(f"seed plan not found at {SEED}")
    return SEED


@pytest.fixture()
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"
    return env


@pytest.fixture()
def sim():
    """A simulator on 127.0.0.1 (free port), stopped after the test."""
    from launchlib.sim import SimConfig
    from launchlib.simserver import SimServer

    server = SimServer("127.0.0.1", 0, SimConfig(restart_s=0.05)).start()
    yield server
    server.stop()
