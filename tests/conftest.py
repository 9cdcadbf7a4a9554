"""Shared fixtures: paths to the repository, the reference plan and the seed, real servers, and
the session's rehearsals (one per scenario, handed read-only to every test that reads it).

Tiers (docs/testing.md): ``make test`` runs the tests marked neither ``slow`` nor ``scenario`` in
parallel (pytest-xdist), then the ``slow`` ones (rehearsals, browsers, timing) one after another;
``make test-scenarios`` runs the ``scenario`` tier: every other scenario end to end, the hog runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "war-room-plan.md"
PLAN_PATH = ROOT / "parameters" / "plan.yaml"
LAUNCHLIB = str(Path(sys.executable).with_name("launchlib"))


@pytest.fixture(scope="session")
def plan():
    from launchlib.plan.files import load_plan

    return load_plan(PLAN_PATH)


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED.exists():
        _missing(f"seed plan not found at {SEED}")
    return SEED


def _missing(msg: str) -> None:
    """A part the test needs is missing: a skip on a developer's machine, a failure in CI."""
    if os.environ.get("LAUNCHLIB_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture()
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def wait_until(cond: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``cond`` until it holds; a generous deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"
    return env


@pytest.fixture()
def sim():
    """A simulator on 127.0.0.1 (free port), stopped after the test."""
    from launchlib.simulator.app import SimConfig
    from launchlib.simulator.server import SimServer

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
    _missing(f"{name} not installed (Debian package '{package}'; scripts/system-deps.sh installs it)")
    raise AssertionError("unreachable")


def build_image(client, tag: str, files: dict[str, bytes]) -> None:
    """Build ``tag`` on a Docker Engine from in-memory files (a Dockerfile and what it copies)."""
    import gc
    import io
    import tarfile
    import warnings

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    with warnings.catch_warnings():  # docker-py leaves each build's streamed response to the GC
        warnings.simplefilter("ignore", ResourceWarning)
        client.images.build(fileobj=buf, custom_context=True, tag=tag)
        gc.collect()


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 (free port, trust auth), stopped and removed after the session.

    initdb and pg_ctl refuse root: as root they run as the ``postgres`` user (made by the Debian
    package) in a data folder it owns. Yields the URL of the ``postgres`` database.
    """
    import glob
    import shutil
    import subprocess
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(found[-1]).parent if found else None
    require_binary(str(bindir / "initdb") if bindir else "initdb", "postgresql")
    require_binary("pg_dump", "postgresql-client")
    assert bindir is not None
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="launchlib-pg-"))
    data, log = base / "data", base / "server.log"
    if as_user:
        shutil.chown(base, "postgres")
    port = free_port()

    def run(*cmd: str) -> None:
        out = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"{cmd[0]}: {out.stderr.strip() or out.stdout.strip()}")

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """A Docker Engine URL: the running one when reachable, else a dockerd started for the session.

    The session's dockerd (root only) keeps its data in a temporary folder and has no bridge and
    no iptables rules: test containers use the host network and listen on 127.0.0.1 only.
    """
    import shutil
    import subprocess
    import tempfile
    import time

    import docker
    import docker.errors
    import requests

    def reachable(url: str | None) -> bool:
        where = url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if where.startswith("unix://") and not Path(where.removeprefix("unix://")).exists():
            return False  # (docker-py leaks the socket of a failed connect)
        try:
            # a fixed API version: the constructor sends nothing, so a failed ping can be closed
            client = (
                docker.DockerClient(base_url=url, version="1.41") if url else docker.from_env(version="1.41")
            )
        except docker.errors.DockerException:
            return False
        try:
            return bool(client.ping())
        except (docker.errors.DockerException, requests.RequestException):
            return False
        finally:
            client.close()

    if reachable(None):
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    dockerd = require_binary("dockerd", "docker.io")
    if os.geteuid() != 0:
        _missing("no Docker Engine running and dockerd needs root to start one")
    base = Path(tempfile.mkdtemp(prefix="launchlib-dockerd-"))
    url = f"unix://{base}/docker.sock"
    where = [f"--host={url}", f"--data-root={base}/data", f"--exec-root={base}/exec", f"--pidfile={base}/pid"]
    log = (base / "dockerd.log").open("wb")
    proc = subprocess.Popen(
        [dockerd, *where, "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not reachable(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start: {(base / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        # dockerd leaves its network namespace mounted under exec/: unmount before removing
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for m in sorted((m for m in mounts if m.startswith(str(base))), reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(base, ignore_errors=True)


HOOK_SECRET = "T0PSECRET-hook-7f3a"  # in every receiver's path, as a webhook URL's token is
ADMIN_TOKEN = "adm1n-T0KEN-5e2b91"  # planted in the README run's environment: must reach no file


class Receiver:
    """A real HTTP server on 127.0.0.1: ``mode`` record | flaky (503 twice, then 200) | hang."""

    def __init__(self, mode: str) -> None:
        self.mode, self.bodies, self.calls = mode, [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.mode == "hang":
                    time.sleep(3.0)
                code = 503 if outer.mode == "flaky" and outer.calls <= 2 else 200
                if code == 200:
                    outer.bodies.append(json.loads(body))
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up on a hanging receiver: that is the point

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/{HOOK_SECRET}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def copy_project(dest: Path) -> Path:
    """A copy of the project root as a team has it: parameters and notebooks, no reports yet."""
    dest.mkdir(parents=True)
    for part in ("parameters", "notebooks"):
        shutil.copytree(ROOT / part, dest / part)
    return dest


def person_env() -> dict[str, str]:
    """A person's environment: every warning shows; an admin token that is not the simulator's."""
    env = cli_env()
    env.pop("PYTHONWARNINGS", None)
    env["LAUNCHLIB_ADMIN_TOKEN"] = ADMIN_TOKEN
    return env


@dataclass
class Rehearsed:
    """One finished rehearsal of the session: read it, never write to it."""

    run_dir: Path
    manifest: object  # launchlib.runfolder.folder.Manifest
    lines: list[str]
    stderr: str = ""
    returncode: int | None = None
    slack: list[dict] = field(default_factory=list)  # what the war room's Slack received
    root: Path | None = None  # the project folder it ran from (the README run)


@pytest.fixture(scope="session")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    """The README's first command (``launchlib rehearse``: the default scenario, latency-spike) as a
    subprocess from a copy of the project, its plan's channels posting to local receivers (Slack
    records, a pager hangs) and a secret planted in the environment: run once per session, read by
    the README, scorecard, webhook, secrets, report, browser and analysis tests."""
    from launchlib.runfolder.folder import read_manifest

    root = copy_project(tmp_path_factory.mktemp("readme") / "project")
    slack, pager = Receiver("record"), Receiver("hang")
    plan = root / "parameters" / "plan.yaml"
    data = yaml.safe_load(plan.read_text(encoding="utf-8"))
    next(c for c in data["channels"] if c["name"] == "Slack Channel")["delivery"] = {
        "kind": "slack",
        "url_env": "LAUNCHLIB_TEST_SLACK_URL",
    }
    pager_delivery = {
        "kind": "webhook",
        "url_env": "LAUNCHLIB_TEST_PAGER_URL",
        "timeout_s": 0.5,
        "deadline_s": 2.0,
    }
    data["channels"].append({"name": "Pager", "value": "on-call", "delivery": pager_delivery})
    plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = person_env() | {"LAUNCHLIB_TEST_SLACK_URL": slack.url, "LAUNCHLIB_TEST_PAGER_URL": pager.url}
    try:
        proc = subprocess.run(
            [LAUNCHLIB, "rehearse"], cwd=root, capture_output=True, text=True, env=env, timeout=600
        )
    finally:
        slack.stop()
        pager.stop()
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("report: "), proc.stdout + proc.stderr
    run_dir = Path(lines[-1].removeprefix("report: ")).parent
    return Rehearsed(
        run_dir, read_manifest(run_dir), lines, proc.stderr, proc.returncode, list(slack.bodies), root
    )


@pytest.fixture(scope="session")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Rehearsed]:
    """``rehearsed(scenario)``: the scenario rehearsed once per session (in process, defaults),
    into one shared reports folder. The default scenario comes from :func:`readme_run` instead."""
    from launchlib.runner.console import Console
    from launchlib.runner.rehearse import rehearse

    reports = tmp_path_factory.mktemp("scenarios")
    done: dict[str, Rehearsed] = {}

    def get(scenario: str) -> Rehearsed:
        assert scenario != "latency-spike", "the default scenario is the README run: use readme_run"
        if scenario not in done:
            lines: list[str] = []
            run_dir, m = rehearse(
                scenario, run_id=scenario, reports=reports, console=Console(echo=lines.append)
            )
            done[scenario] = Rehearsed(run_dir, m, lines)
        return done[scenario]

    return get
