"""The staging stack the kit ships (examples/staging), rehearsed against as a user would: built
and brought up by its own tool on a real Docker Engine, rehearsed with the README's flags, judged
from its Prometheus; its database rollback restores a real PostgreSQL (scenario tier)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LAUNCHLIB, ROOT, require_binary

from launchlib.runfolder.events import read_events
from launchlib.runfolder.records import DecisionRecord, read_decisions

pytestmark = [pytest.mark.scenario, pytest.mark.timeout(1800)]

STACK = ROOT / "examples/staging/stack.py"
SERVICE = "http://127.0.0.1:8780"
RELEASES = ("prod-rollback", "v1.0-prod-ready")
# A stack's rollback is real work (recreations, a database restore: 15-35 real seconds here), which
# at 10x took 184-382 of the immediate tier's 300 launch seconds; at 5x it fits with room to spare.
COMPRESS = 5


@pytest.fixture(scope="module")
def staging(docker_engine: str) -> Iterator[dict[str, str]]:
    """``stack.py up`` on the session's Docker Engine; the environment it tells the user to source."""
    for binary, package in (("debootstrap", "debootstrap"), ("docker-compose", "docker-compose")):
        require_binary(binary, package)
    env = dict(os.environ, DOCKER_HOST=docker_engine, PYTHONWARNINGS="ignore")
    up = subprocess.run(
        [sys.executable, str(STACK), "up"], env=env, capture_output=True, text=True, timeout=1200
    )
    assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
    assert "staging: up: service http://127.0.0.1:8780" in up.stdout
    for line in (ROOT / ".staging/env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    try:
        yield env
    finally:
        subprocess.run([sys.executable, str(STACK), "down"], env=env, capture_output=True, timeout=300)


def _rehearse(
    env: dict[str, str], scenario: str, reports: Path, prometheus: bool = True, compress: int = COMPRESS
) -> subprocess.CompletedProcess[str]:
    args = [
        "rehearse", "--plan", ".staging/plan.yaml", "--scenario", scenario, "--compress", str(compress),
        "--docker-project", "launch-staging", "--target", SERVICE,
        "--database-url-env", "STAGING_DATABASE_URL", "--reports", str(reports), "--run-id", scenario,
    ]  # fmt: skip
    if prometheus:
        args += ["--source", "prometheus", "--prometheus", "http://127.0.0.1:9790"]
    return subprocess.run([LAUNCHLIB, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)


def test_the_books_corrupted_in_postgresql_are_restored_from_the_t24h_backup(staging, tmp_path: Path) -> None:
    run = _rehearse(staging, "staging-books", tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]
    assert "The database was restored from the last verified backup." in run.stdout
    d = next(r for r in read_decisions(tmp_path / "staging-books") if isinstance(r, DecisionRecord))
    assert (d.tier, [f.id for f in d.triggers]) == ("immediate", ["data_integrity"])
    assert 'status=~"409"' in (d.triggers[0].evidence.query or "")
    assert list((tmp_path / "staging-books" / "backups").glob("pg-*.dump")), "the T-24h backup is kept"
    books = httpx.get(f"{SERVICE}/api/integrity", timeout=5)
    assert books.status_code == 200 and books.json()["database"] == "postgresql"


def test_a_killed_candidate_goes_dark_and_the_previous_release_comes_back(staging, tmp_path: Path) -> None:
    run = _rehearse(staging, "staging-crash", tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]
    d = next(r for r in read_decisions(tmp_path / "staging-crash") if isinstance(r, DecisionRecord))
    assert (d.tier, [f.id for f in d.triggers]) == ("controlled", ["monitoring_gap"])
    assert httpx.get(f"{SERVICE}/version", timeout=5).json() == {"release": "prod-rollback"}


def test_an_emergency_rollback_that_brings_the_candidate_back_is_caught(staging, tmp_path: Path) -> None:
    """The previous tag moved onto the candidate's image: the emergency rollback (by tag) brings
    the candidate back, the version check catches it, the controlled one (by image) mends it."""
    import docker  # the stack's images: what the tag names after the run

    run = _rehearse(staging, "staging-bad-rollback", tmp_path, prometheus=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]
    assert "The emergency rollback left the wrong release running; that was caught." in run.stdout
    events = [e.model_dump() for e in read_events(tmp_path / "staging-bad-rollback")]
    moved = next(e for e in events if e["event"] == "fault_injected" and e["fault"] == "bad_rollback")
    assert moved["images"] == ["launchlib-staging/trading:prod-rollback"], moved
    caught = next(e for e in events if e["event"] == "bad_rollback")
    assert "v1.0-prod-ready" in caught["detail"], caught
    done = next(e for e in events if e["event"] == "rollback_completed")
    assert done["procedures"][:2] == ["emergency", "controlled"], done
    d = next(r for r in read_decisions(tmp_path / "staging-bad-rollback") if isinstance(r, DecisionRecord))
    assert d.tier == "immediate", d
    assert httpx.get(f"{SERVICE}/version", timeout=5).json() == {"release": "prod-rollback"}
    client = docker.DockerClient(base_url=staging["DOCKER_HOST"])
    try:
        images = {t: client.images.get(f"launchlib-staging/trading:{t}").id for t in RELEASES}
    finally:
        client.close()
    assert images["prod-rollback"] != images["v1.0-prod-ready"], "the rollback put the tag back"
