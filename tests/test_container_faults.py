"""Container faults on a real Docker Engine, and a whole rehearsal of a compose stack.

The stack's trading service is launchlib's own simulator, run *inside* a container: the image
(built here from scratch: busybox and a release tag, no registry) starts the Python of this
checkout, bind-mounted read-only, with ``launchlib sim serve --release <the image's tag>``, on the
host network and 127.0.0.1 only. So the container is the service: stop it and nothing answers,
pause it and requests hang, replace its image and the other release answers.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest
import yaml
from conftest import ROOT, build_image, free_port, require_binary
from test_webhooks import Receiver

from launchlib.backends.base import wait_release
from launchlib.backends.container_faults import ContainerFaults
from launchlib.backends.docker import PROJECT_LABEL, SERVICE_LABEL, DockerDeployer
from launchlib.errors import TargetError
from launchlib.probing.target import Target
from launchlib.runfolder.events import Event, read_events, record_event
from launchlib.runner.console import Console
from launchlib.runner.rehearse import exit_code, rehearse
from launchlib.simulator.scenarios import Binding, Fault, FaultKind

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # dockerd, and faults on the launch clock

PREVIOUS, CANDIDATE = "prod-rollback", "v1.0-prod-ready"
REPO = "launchlib-test/trading-sim"
PYTHON = Path(sys.prefix) / "bin" / "python"
SERVE = (
    f"exec {PYTHON} -c 'from launchlib.cli import main; main()' sim serve"
    " --host 127.0.0.1 --port $PORT --restart-s 0.05"
)
HEALTH = ["/bin/busybox", "sh", "-c", "/bin/busybox wget -q -O /dev/null http://127.0.0.1:$PORT/health"]


def _image_files(busybox: bytes, release: str) -> dict[str, bytes]:
    return {
        "Dockerfile": (
            "FROM scratch\nCOPY busybox /bin/busybox\n"
            f"ENV LAUNCHLIB_SIM_RELEASE={release}\n"
            f"HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD {json.dumps(HEALTH)}\n"
            f'CMD ["/bin/busybox", "sh", "-c", {json.dumps(SERVE)}]\n'
        ).encode(),
        "busybox": busybox,
    }


def _mounts() -> dict[str, dict[str, str]]:
    """This checkout's Python, its packages and launchlib, read-only at the same paths."""
    paths = {sys.prefix, os.path.realpath(sys.base_prefix), str(ROOT), "/usr"}
    paths |= {p for p in ("/lib", "/lib64") if os.path.exists(p)}
    return {os.path.realpath(p): {"bind": p, "mode": "ro"} for p in paths}


@pytest.fixture(scope="module")
def engine(docker_engine: str) -> Iterator[docker.DockerClient]:
    busybox = Path(require_binary("/bin/busybox", "busybox-static")).read_bytes()
    client = docker.DockerClient(base_url=docker_engine)
    for release in (PREVIOUS, CANDIDATE):
        build_image(client, f"{REPO}:{release}", _image_files(busybox, release))
    yield client
    client.close()


@dataclass
class SimStack:
    project: str
    url: str
    docker_url: str
    client: docker.DockerClient

    def deployer(self) -> DockerDeployer:
        return DockerDeployer(
            Target(self.url), self.project, previous=PREVIOUS, candidate=CANDIDATE, docker_url=self.docker_url
        )

    def api(self) -> docker.models.containers.Container:
        return self.client.containers.get(f"{self.project}-api-1")


@pytest.fixture()
def sim_stack(engine: docker.DockerClient, docker_engine: str) -> Iterator[SimStack]:
    """A compose-labelled project whose ``api`` service is the simulator on the previous release."""
    project, port = f"trading-{uuid.uuid4().hex[:8]}", free_port()
    engine.containers.run(
        f"{REPO}:{PREVIOUS}",
        name=f"{project}-api-1",
        detach=True,
        network_mode="host",
        environment={"PORT": str(port)},
        labels={PROJECT_LABEL: project, SERVICE_LABEL: "api"},
        volumes=_mounts(),
        init=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_release(Target(url), PREVIOUS, timeout_s=30)
    except Exception:
        print(engine.containers.get(f"{project}-api-1").logs().decode()[-2000:])
        raise
    yield SimStack(project, url, docker_engine, engine)
    for c in engine.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        c.remove(force=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _until(cond, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "kind", [FaultKind.CONTAINER_PAUSE, FaultKind.CONTAINER_STOP, FaultKind.CONTAINER_KILL]
)
def test_a_fault_acts_at_its_launch_time_and_is_cleared_at_its_end(
    sim_stack: SimStack, tmp_path: Path, kind: FaultKind
) -> None:
    """On the launch clock (the run's deploy event, compressed 20×): nothing before ``start_s``,
    the service gone from then, back at ``end_s``; both acts are events naming the container."""
    dep = sim_stack.deployer()
    fault = Fault(kind=kind, binding=Binding.INFRASTRUCTURE, service="api", start_s=40, end_s=120)
    faults = ContainerFaults(dep, [fault], tmp_path, compress=20.0)
    try:
        faults.start()
        time.sleep(0.3)
        assert _answers(sim_stack.url)  # no deploy yet: the clock has not started
        t0 = time.time()
        record_event(tmp_path, Event.DEPLOYED, release=PREVIOUS)
        _until(lambda: not _answers(sim_stack.url))
        assert time.time() - t0 >= 1.8  # not before T+40s (two real seconds at 20×)
        want = "paused" if kind is FaultKind.CONTAINER_PAUSE else "exited"
        _until(lambda: sim_stack.api().status == want, timeout_s=5)  # a stop waits for the exit
        _until(lambda: _answers(sim_stack.url))
        assert time.time() - t0 >= 5.9  # T+120s
    finally:
        faults.stop()
        dep.close()
    assert faults.error is None
    acts = [e for e in read_events(tmp_path) if e.event in (Event.FAULT_INJECTED, Event.FAULT_CLEARED)]
    assert [(e.event, e.info("containers")) for e in acts] == [
        (Event.FAULT_INJECTED, [f"{sim_stack.project}-api-1"]),
        (Event.FAULT_CLEARED, [f"{sim_stack.project}-api-1"]),
    ]
    assert 40 <= acts[0].info("launch_s") < 120 <= acts[1].info("launch_s"), acts  # each at its launch time


def test_a_release_fault_follows_the_candidate(sim_stack: SimStack, tmp_path: Path) -> None:
    """Bound to the candidate: on a stack still on the previous release it finds nothing to stop,
    says so, and the service keeps answering."""
    dep = sim_stack.deployer()
    faults = ContainerFaults(dep, [Fault(kind=FaultKind.CONTAINER_STOP, start_s=0)], tmp_path, compress=20.0)
    record_event(tmp_path, Event.DEPLOYED, release=PREVIOUS)
    try:
        faults.start()
        _until(lambda: any(e.event == Event.FAULT_INJECTED for e in read_events(tmp_path)))
    finally:
        faults.stop()
        dep.close()
    injected = next(e for e in read_events(tmp_path) if e.event == Event.FAULT_INJECTED)
    assert injected.info("containers") == [] and f"on {CANDIDATE}" in injected.info("detail")
    assert _answers(sim_stack.url)


def _move_previous_tag(dep: DockerDeployer, run_dir: Path) -> ContainerFaults:
    """A bad_rollback injector started on a run deployed now; returns once it has moved the tag."""
    fault = Fault(kind=FaultKind.BAD_ROLLBACK, binding=Binding.INFRASTRUCTURE)
    faults = ContainerFaults(dep, [fault], run_dir, compress=20.0).start()
    record_event(run_dir, Event.DEPLOYED, release=CANDIDATE)
    _until(lambda: any(e.event == Event.FAULT_INJECTED for e in read_events(run_dir)))
    assert faults.error is None
    return faults


def test_a_moved_tag_fools_the_emergency_rollback_not_the_controlled_one(
    sim_stack: SimStack, engine: docker.DockerClient, tmp_path: Path
) -> None:
    """bad_rollback on a stack: the previous tag names the candidate's image, so the emergency
    rollback (by tag) brings the candidate back; the controlled one restores the tag from the image
    recorded at the deploy and the previous release answers. A tag nobody restored is put back
    when the injector stops."""
    ids = {t: engine.images.get(f"{REPO}:{t}").id for t in (PREVIOUS, CANDIDATE)}
    dep, target = sim_stack.deployer(), Target(sim_stack.url)
    tagged = lambda: engine.images.get(f"{REPO}:{PREVIOUS}").id  # noqa: E731
    try:
        dep.deploy(CANDIDATE)
        wait_release(target, CANDIDATE, timeout_s=30)
        faults = _move_previous_tag(dep, tmp_path / "run")
        assert tagged() == ids[CANDIDATE]
        dep.rollback("emergency")
        with pytest.raises(TargetError):
            wait_release(target, PREVIOUS, timeout_s=3)
        assert httpx.get(f"{sim_stack.url}/version").json() == {"release": CANDIDATE}
        done = dep.rollback("controlled")
        assert done["retagged"] == [f"{REPO}:{PREVIOUS}"] and done["replaced"] == [
            f"{sim_stack.project}-api-1"
        ]
        wait_release(target, PREVIOUS, timeout_s=30)
        assert tagged() == ids[PREVIOUS]
        faults.stop()
        _move_previous_tag(dep, tmp_path / "unrestored").stop()  # no rollback this time
        assert tagged() == ids[PREVIOUS]
    finally:
        dep.close()
        engine.images.get(ids[PREVIOUS]).tag(REPO, PREVIOUS)  # whatever happened, for the next test
    injected = next(e for e in read_events(tmp_path / "run") if e.event == Event.FAULT_INJECTED)
    assert injected.info("images") == [f"{REPO}:{PREVIOUS}"], injected


@pytest.mark.parametrize(
    "scenario", ["container-stop", pytest.param("container-pause", marks=pytest.mark.scenario)]
)
def test_rehearsal_of_a_stack_with_a_container_fault(
    sim_stack: SimStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    """The README's launch-day rehearsal: the candidate deployed through the Engine at T-0, its
    container stopped (or frozen) at T+3m; the probes see it, the trigger fires, the Docker
    rollback puts the previous release back and the post-rollback checks go green."""
    monkeypatch.setenv("DOCKER_HOST", sim_stack.docker_url)
    monkeypatch.setenv("LAUNCHLIB_ADMIN_TOKEN", "sim-admin-token")  # the containerised simulator's
    # on a real target a message counts only when a channel delivers it: the war room's Slack
    slack = Receiver("record")
    monkeypatch.setenv("LAUNCHLIB_TEST_SLACK", slack.url)
    data = yaml.safe_load((ROOT / "parameters" / "plan.yaml").read_text())
    data["channels"][0]["delivery"] = {"kind": "slack", "url_env": "LAUNCHLIB_TEST_SLACK"}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    lines: list[str] = []
    try:
        run_dir, m = rehearse(
            scenario,
            run_id=scenario,
            reports=tmp_path / "reports",
            target_url=sim_stack.url,
            docker_project=sim_stack.project,
            compress=10.0,
            plan_path=tmp_path / "plan.yaml",
            console=Console(echo=lines.append),
        )
    finally:
        slack.stop()
    events = read_events(run_dir)
    card = m.scorecard
    assert card.as_expected and exit_code(m) == 0, (card.mismatches, lines)
    injected = next(e for e in events if e.event == Event.FAULT_INJECTED)
    assert injected.info("containers") == [f"{sim_stack.project}-api-1"] and injected.info("launch_s") >= 180
    assert m.rollback is not None and m.rollback.checks_green and all(c.passed for c in m.rollback.checks)
    assert m.rollback.procedures[0] == "emergency" and card.tier == "immediate"
    assert card.time_to_detect_s is not None and card.time_to_detect_s < 60
    api = sim_stack.api()
    assert api.attrs["Config"]["Image"] == f"{REPO}:{PREVIOUS}" and api.status == "running"
    assert httpx.get(f"{sim_stack.url}/version").json()["release"] == PREVIOUS
    assert any(line.startswith("DECISION at T+3m") for line in lines), lines
    kind = scenario.replace("-", "_")
    assert f"  stack      docker project {sim_stack.project}; faults: {kind} (release) at T+3m00s" in lines
    assert "container_" not in " ".join(card.triggers)  # causes are triggers, the fault is the scenario's
    said = " ".join(b["text"] for b in slack.bodies)
    assert "ROLLBACK · immediate tier" in said and "ROLLBACK COMPLETE" in said, said


def test_dry_run_checks_the_engine_and_the_project(
    sim_stack: SimStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from launchlib.runner.dryrun import dry_run

    monkeypatch.setenv("DOCKER_HOST", sim_stack.docker_url)
    kw = {"scenario": "container-stop", "target_url": sim_stack.url, "signoffs": ""}
    assert dry_run(**kw, docker_project=sim_stack.project) == []
    [problem] = dry_run(**kw, docker_project="no-such-project")
    assert problem.file == "--docker-project" and "no container runs an image tagged" in str(problem)
