"""The Docker deployment backend against a real Docker Engine, with images built here (no registry).

The "trading API" image is busybox's httpd serving ``/version`` and ``/health`` from scratch;
each test runs a small compose-labelled project on the host network (127.0.0.1 only).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from conftest import build_image, free_port, require_binary

from launchlib.backends.base import wait_release
from launchlib.backends.docker import PROJECT_LABEL, SERVICE_LABEL, DockerDeployer
from launchlib.errors import TargetError
from launchlib.probing.target import Target

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # dockerd; health checks timed

PREVIOUS, CANDIDATE, BROKEN = "prod-rollback", "v1.0-prod-ready", "v1.1-broken"
REPO = "launchlib-test/trading-api"
SERVE = "exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www"
HEALTH = [
    "/bin/busybox",
    "sh",
    "-c",
    "/bin/busybox wget -q -O /dev/null http://127.0.0.1:$PORT/health",
]


def _image_files(busybox: bytes, release: str, cmd: str) -> dict[str, bytes]:
    return {
        "Dockerfile": (
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n"
            f"HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD {json.dumps(HEALTH)}\n"
            f'CMD ["/bin/busybox", "sh", "-c", {json.dumps(cmd)}]\n'
        ).encode(),
        "busybox": busybox,
        "www/version": json.dumps({"release": release}).encode(),
        "www/health": b'{"status": "ok"}',
    }


@pytest.fixture(scope="module")
def engine(docker_engine: str) -> Iterator[docker.DockerClient]:
    """The engine with the test images built: previous, candidate, a broken release, a database."""
    busybox = Path(require_binary("/bin/busybox", "busybox-static")).read_bytes()
    builds = {
        f"{REPO}:{PREVIOUS}": _image_files(busybox, PREVIOUS, SERVE),
        f"{REPO}:{CANDIDATE}": _image_files(busybox, CANDIDATE, SERVE),
        f"{REPO}:{BROKEN}": _image_files(busybox, BROKEN, "exit 3"),
        "launchlib-test/postgres:15": _image_files(busybox, "none", "exec /bin/busybox sleep 3600"),
    }
    client = docker.DockerClient(base_url=docker_engine)
    for tag, files in builds.items():
        build_image(client, tag, files)
    yield client
    client.close()


@dataclass
class Stack:
    project: str
    url: str
    client: docker.DockerClient
    docker_url: str
    opened: list[DockerDeployer] = field(default_factory=list)

    def deployer(self, candidate: str = CANDIDATE, project: str = "") -> DockerDeployer:
        dep = DockerDeployer(
            Target(self.url),
            project or self.project,
            previous=PREVIOUS,
            candidate=candidate,
            docker_url=self.docker_url,
        )
        self.opened.append(dep)
        return dep

    def container(self, service: str) -> docker.models.containers.Container:
        return self.client.containers.get(f"{self.project}-{service}-1")

    def names(self) -> list[str]:
        found = self.client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"})
        return sorted(c.name for c in found)


@pytest.fixture()
def stack(engine: docker.DockerClient, docker_engine: str) -> Iterator[Stack]:
    """A compose-labelled project: ``api`` and ``worker`` on the previous release (two release
    services, so that all-at-once and one-by-one switches differ), ``db`` (not a release service)."""
    project, port, worker_port = f"trading-{uuid.uuid4().hex[:8]}", free_port(), free_port()

    def labels(service: str) -> dict[str, str]:
        return {PROJECT_LABEL: project, SERVICE_LABEL: service, "com.example.owner": "devops"}

    engine.containers.run(
        f"{REPO}:{PREVIOUS}",
        name=f"{project}-api-1",
        detach=True,
        network_mode="host",
        environment={"PORT": str(port), "TRADING_MODE": "paper"},
        labels=labels("api"),
        restart_policy={"Name": "unless-stopped"},
        init=True,  # busybox as PID 1 ignores SIGTERM; a real service stops on it
    )
    engine.containers.run(
        f"{REPO}:{PREVIOUS}",
        name=f"{project}-worker-1",
        detach=True,
        network_mode="host",
        environment={"PORT": str(worker_port)},
        labels=labels("worker"),
        init=True,
    )
    engine.containers.run(
        "launchlib-test/postgres:15",
        name=f"{project}-db-1",
        detach=True,
        network_mode="none",
        labels=labels("db"),
    )
    url = f"http://127.0.0.1:{port}"
    wait_release(Target(url), PREVIOUS, timeout_s=30)
    stack = Stack(project, url, engine, docker_engine)
    yield stack
    for dep in stack.opened:
        dep.close()
    for c in engine.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        c.remove(force=True)


def test_deploy_and_both_rollbacks_recreate_only_the_release_service(stack: Stack) -> None:
    dep = stack.deployer()
    assert dep.releases() == {"previous": PREVIOUS, "candidate": CANDIDATE}
    db_id = stack.container("db").id
    assert {r["service"]: r["image"] for r in dep.containers()} == {
        "api": f"{REPO}:{PREVIOUS}",
        "worker": f"{REPO}:{PREVIOUS}",
        "db": "launchlib-test/postgres:15",
    }

    replaced = dep.deploy(CANDIDATE)["replaced"]
    assert sorted(replaced) == [f"{stack.project}-api-1", f"{stack.project}-worker-1"]
    dep.wait_serving(CANDIDATE, timeout_s=20)
    api = stack.container("api")
    assert api.attrs["Config"]["Image"] == f"{REPO}:{CANDIDATE}"
    env = api.attrs["Config"]["Env"]
    assert "TRADING_MODE=paper" in env and any(e.startswith("PORT=") for e in env)
    assert api.labels["com.example.owner"] == "devops" and api.labels[SERVICE_LABEL] == "api"
    assert api.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert api.attrs["State"]["Health"]["Status"] == "healthy"  # waited for before the old one went
    assert dep.state()["release"] == CANDIDATE

    dep.rollback("emergency")
    dep.wait_serving(PREVIOUS, timeout_s=20)
    assert dep.rollback("controlled")["replaced"] == []  # already on the previous release
    dep.deploy(CANDIDATE)
    dep.rollback("controlled")
    dep.wait_serving(PREVIOUS, timeout_s=20)
    assert stack.container("db").id == db_id  # not a release service: never touched
    assert stack.names() == [f"{stack.project}-{s}-1" for s in ("api", "db", "worker")]  # no leftovers


def _created(c: docker.models.containers.Container) -> float:
    from datetime import datetime

    stamp = c.attrs["Created"]  # RFC 3339 with nanoseconds
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()


def test_emergency_switches_all_at_once_and_controlled_one_by_one(stack: Stack) -> None:
    """Controlled waits for each new container to be healthy (health checks every second) before
    the next; emergency creates them all, then waits."""
    dep = stack.deployer()
    gaps = {}
    for procedure in ("emergency", "controlled"):
        dep.deploy(CANDIDATE)
        dep.rollback(procedure)
        dep.wait_serving(PREVIOUS, timeout_s=20)
        created = sorted(_created(stack.container(s)) for s in ("api", "worker"))
        gaps[procedure] = created[1] - created[0]
    # controlled waits for a health check (every second) between the two; emergency does not
    assert gaps["controlled"] >= 0.8 and gaps["emergency"] < gaps["controlled"] / 2, gaps


def test_an_emergency_switch_that_fails_puts_back_every_switched_container(stack: Stack) -> None:
    """All at once onto a release that cannot start: both services come back as they were."""
    before = {s: stack.container(s).id for s in ("api", "worker")}
    dep = DockerDeployer(
        Target(stack.url), stack.project, previous=BROKEN, candidate=PREVIOUS, docker_url=stack.docker_url
    )
    stack.opened.append(dep)
    with pytest.raises(TargetError, match="after the switch"):
        dep.rollback("emergency")
    after = {s: stack.container(s) for s in ("api", "worker")}
    assert {s: c.id for s, c in after.items()} == before and all(
        c.status == "running" for c in after.values()
    )
    wait_release(Target(stack.url), PREVIOUS, timeout_s=20)
    assert stack.names() == [f"{stack.project}-{s}-1" for s in ("api", "db", "worker")]


def test_a_release_that_fails_to_start_puts_the_old_container_back(stack: Stack) -> None:
    dep = stack.deployer(candidate=BROKEN)
    before = stack.container("api").id
    with pytest.raises(
        TargetError, match=f"{stack.project}-(api|worker)-1 is (exited|unhealthy) after the switch"
    ):
        dep.deploy(BROKEN)
    api = stack.container("api")
    assert api.id == before and api.status == "running"
    dep.wait_serving(PREVIOUS, timeout_s=20)
    assert stack.names() == [f"{stack.project}-{s}-1" for s in ("api", "db", "worker")]


def test_missing_image_project_or_engine_fail_clearly(stack: Stack) -> None:
    dep = stack.deployer(candidate="v9.9-never-built")
    assert dep.releases() == {"previous": PREVIOUS}  # what deploy_ready reports
    with pytest.raises(TargetError, match=f"image {REPO}:v9.9-never-built not on the host"):
        dep.deploy("v9.9-never-built")
    dep.wait_serving(PREVIOUS, timeout_s=5)
    nobody = stack.deployer(project="no-such-project")
    with pytest.raises(TargetError, match="no container runs an image tagged"):
        nobody.releases()
    with pytest.raises(TargetError, match=r"Docker Engine at unix:///nonexistent/docker\.sock: unreachable"):
        DockerDeployer(
            Target(stack.url),
            "x",
            previous=PREVIOUS,
            candidate=CANDIDATE,
            docker_url="unix:///nonexistent/docker.sock",
        )


def test_a_phase_with_docker_project_deploys_and_checks_through_the_engine(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from launchlib.launch.checks import run_check
    from launchlib.launch.context import open_phase

    monkeypatch.setenv("DOCKER_HOST", stack.docker_url)
    ctx = open_phase(
        "T-6h", run_dir=str(tmp_path / "run"), target_url=stack.url, docker_project=stack.project, signoffs=""
    )
    try:
        assert isinstance(ctx.deployer, DockerDeployer)
        ready = next(i for i in ctx.plan.phase("T-6h").items if i.check == "deploy_ready")
        res = run_check(ctx, ready)
        assert res.passed and CANDIDATE in res.detail, res.detail
        health = next(i for i in ctx.plan.phase("T-24h").items if i.check == "health")
        assert "containers: all 3 running" in run_check(ctx, health).detail
        ctx.deployer.deploy(CANDIDATE)
        ctx.deployer.wait_serving(CANDIDATE, timeout_s=20)
    finally:
        ctx.close()
