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
