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


def require_binary(name: str, package: str) -> str:
    """The path of a system binary the test needs: a skip where it is missing, a failure in CI.

    ``make test`` installs the packages when it can (root); ``.ci/run`` sets
    ``LAUNCHLIB_REQUIRE_SYSTEM_DEPS=1`` so a missing package fails CI instead of skipping quietly.
    """
    import shutil

    found = shutil.which(name) or (name if Path(name).is_file() else None)
    if found is not None:
        return found
    msg = f"{name} not installed (Debian package '{package}'; scripts/system-deps.sh installs it)"
    if os.environ.get("LAUNCHLIB_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def prometheus_factory(tmp_path: Path):
    """Start a real Prometheus on 127.0.0.1 scraping given targets every second; stops it after."""
    import subprocess
    import time

    import httpx

    binary = require_binary("prometheus", "prometheus")
    procs: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(targets: list[str]) -> str:
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: sim\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        log = (tmp_path / "prometheus.log").open("wb")
        logs.append(log)
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus did not start: {(tmp_path / 'prometheus.log').read_text()[-2000:]}")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    for log in logs:
        log.close()
