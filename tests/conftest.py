"""Shared fixtures: paths to the repository, the reference plan and the seed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    msg = f"{name} not installed (Debian package '{package}'; scripts/system-deps.sh installs it)"
    if os.environ.get("LAUNCHLIB_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


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
        pytest.skip("no Docker Engine running and dockerd needs root to start one")
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
