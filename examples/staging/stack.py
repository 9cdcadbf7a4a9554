"""Build and run the staging stack the kit ships (``make staging-up`` / ``make staging-down``).

No registry is reachable, so every image is built here: a Debian 12 base from Debian's packages
(debootstrap: Python 3 and PostgreSQL 15, imported as ``launchlib-staging/base:bookworm``), the
trading service once per release from the project's wheel, PostgreSQL with the service's books,
and Prometheus from this machine's binary. Then ``docker-compose`` brings up compose project
``launch-staging`` (``compose.yaml``) and waits for the service, the database and Prometheus.

With no Docker Engine answering (``DOCKER_HOST``, else the local socket) it starts ``dockerd``
as the tests do (no bridge, no iptables: the stack uses the host network, 127.0.0.1 only), its
data and pid under ``.staging/``; ``down`` stops that dockerd by its pid, and nothing else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import docker.errors
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STATE = ROOT / ".staging"
PROJECT = "launch-staging"
BASE = "launchlib-staging/base:bookworm"
RELEASES = ("prod-rollback", "v1.0-prod-ready")
SOCKET = "unix:///var/run/docker.sock"
#: what the simulator needs (the project's wheel goes in without its notebook stack)
SIM_DEPS = (
    "click",
    "httpx",
    "sniffio",
    "prometheus-client",
    "promql-parser",
    "pydantic",
    "pyyaml",
    "starlette",
    "uvicorn",
    "httptools",
)
SERVICE, PROMETHEUS = "http://127.0.0.1:8780", "http://127.0.0.1:9790"


def say(text: str) -> None:
    print(f"staging: {text}", flush=True)


def _client(url: str) -> docker.DockerClient | None:
    if url.startswith("unix://") and not Path(url.removeprefix("unix://")).exists():
        return None
    try:
        client = docker.DockerClient(base_url=url, version="1.41")
        client.ping()
        return client
    except docker.errors.DockerException:
        return None


def engine() -> docker.DockerClient:
    """The running Docker Engine, or a dockerd started here (root only)."""
    url = os.environ.get("DOCKER_HOST", SOCKET)
    client = _client(url)
    if client is not None:
        return client
    if os.geteuid() != 0 or url != SOCKET:
        sys.exit(f"staging: no Docker Engine at {url} (start dockerd, or run as root to have one started)")
    dockerd = shutil.which("dockerd") or sys.exit("staging: dockerd missing (apt install docker.io)")
    STATE.mkdir(exist_ok=True)
    log = (STATE / "dockerd.log").open("ab")
    args = [
        f"--data-root={STATE / 'docker'}",
        f"--exec-root={STATE / 'exec'}",
        f"--pidfile={STATE / 'dockerd.pid'}",
    ]
    flags = ["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"]
    subprocess.Popen(
        [dockerd, f"--host={SOCKET}", *args, *flags], stdout=log, stderr=log, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while (client := _client(SOCKET)) is None:
        if time.monotonic() > deadline:
            sys.exit(f"staging: dockerd did not start; see {STATE / 'dockerd.log'}")
        time.sleep(0.5)
    say(f"started dockerd (pid {(STATE / 'dockerd.pid').read_text().strip()}, data in {STATE / 'docker'})")
    return client


def _has(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def base_image(client: docker.DockerClient) -> None:
    """Debian 12 (minbase, python3, postgresql-15) from Debian's packages, imported once."""
    if _has(client, BASE):
        return
    rootfs = STATE / "rootfs"
    if not (rootfs / "usr/bin/python3").exists():
        debootstrap = shutil.which("debootstrap") or sys.exit(
            "staging: debootstrap missing (apt install debootstrap)"
        )
        say("building the base image from Debian's packages (debootstrap, about a minute)")
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                "--include=python3,python3-venv,postgresql-15,ca-certificates",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    archive = STATE / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
    repo, tag = BASE.split(":")
    client.api.import_image_from_file(str(archive), repository=repo, tag=tag)
    archive.unlink()
    shutil.rmtree(rootfs, ignore_errors=True)


def _build(client: docker.DockerClient, dockerfile: str, tag: str, context: Path, **buildargs: str) -> None:
    say(f"building {tag}")
    try:
        client.images.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=buildargs,
            network_mode="host",
            rm=True,
        )
    except docker.errors.BuildError as exc:
        tail = "".join(str(x.get("stream", x.get("error", ""))) for x in exc.build_log)[-1500:]
        sys.exit(f"staging: building {tag} failed: {exc}\n{tail}")


def images(client: docker.DockerClient, rebuild: bool) -> None:
    base_image(client)
    context = STATE / "context"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(HERE, context, ignore=shutil.ignore_patterns("stack.py", "__pycache__"))
    wheels = str(context / "wheel")  # fetched here (this machine's PyPI access), installed offline
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "-w", wheels, str(ROOT)], check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run([*pip, "download", "-q", "--only-binary=:all:", "-d", wheels, *SIM_DEPS], check=True)
    shutil.copy(
        shutil.which("prometheus") or sys.exit("staging: prometheus missing (apt install prometheus)"),
        context / "prometheus",
    )
    for release in RELEASES:
        if rebuild or not _has(client, f"launchlib-staging/trading:{release}"):
            _build(
                client, "trading.Dockerfile", f"launchlib-staging/trading:{release}", context, RELEASE=release
            )
    if rebuild or not _has(client, "launchlib-staging/postgres:15"):
        _build(client, "postgres.Dockerfile", "launchlib-staging/postgres:15", context)
    if rebuild or not _has(client, "launchlib-staging/prometheus:latest"):
        _build(client, "prometheus.Dockerfile", "launchlib-staging/prometheus:latest", context)


def compose(*args: str) -> None:
    exe = shutil.which("docker-compose") or sys.exit(
        "staging: docker-compose missing (apt install docker-compose)"
    )
    env = dict(os.environ, DOCKER_HOST=os.environ.get("DOCKER_HOST", SOCKET))
    subprocess.run([exe, "-p", PROJECT, "-f", str(HERE / "compose.yaml"), *args], check=True, env=env)


def wait_ready(timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    for what, url in (
        ("trading service", f"{SERVICE}/api/integrity"),
        ("prometheus", f"{PROMETHEUS}/-/ready"),
    ):
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"staging: the {what} did not answer at {url} within {timeout_s:g} s")
            time.sleep(0.5)


ENV = {
    "STAGING_DATABASE_URL": "postgresql://launch@127.0.0.1:8732/trading",
    "LAUNCHLIB_ADMIN_TOKEN": "sim-admin-token",  # the staging service's admin token (not a secret)
    "LAUNCHLIB_STAGING_WARROOM": f"{SERVICE}/_sim/notify",  # its notification log stands in for Slack
}


def settings() -> None:
    """``.staging/env`` (the stack's URLs and token, to source) and ``.staging/plan.yaml``: the
    project's plan with the war-room channel delivered to the stack, so its checks can pass."""
    import yaml  # the project's dependency: the plan is YAML

    STATE.mkdir(exist_ok=True)
    (STATE / "env").write_text("".join(f"export {k}={v}\n" for k, v in ENV.items()))
    plan = yaml.safe_load((ROOT / "parameters/plan.yaml").read_text(encoding="utf-8"))
    plan["channels"][0]["delivery"] = {"kind": "webhook", "url_env": "LAUNCHLIB_STAGING_WARROOM"}
    (STATE / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")


def up(rebuild: bool) -> None:
    client = engine()
    images(client, rebuild)
    compose("up", "-d", "--force-recreate")
    wait_ready()
    settings()
    say(f"up: service {SERVICE} (books in {ENV['STAGING_DATABASE_URL']}), prometheus {PROMETHEUS}")
    say(f"settings: . {STATE / 'env'}; plan: {STATE / 'plan.yaml'}")


def down() -> None:
    if _client(os.environ.get("DOCKER_HOST", SOCKET)) is not None:
        compose("down", "--remove-orphans")
    pid_file = STATE / "dockerd.pid"
    if pid_file.exists() and os.environ.get("DOCKER_HOST", SOCKET) == SOCKET:
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, 15)
            say(f"stopping the dockerd it started (pid {pid})")
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        # dockerd leaves its network namespace mounted under its exec root
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for m in sorted((m for m in mounts if m.startswith(str(STATE))), reverse=True):
            subprocess.run(["umount", "-l", m], check=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["up", "down"])
    ap.add_argument(
        "--rebuild", action="store_true", help="build the release images again (a changed project)"
    )
    a = ap.parse_args()
    up(a.rebuild) if a.action == "up" else down()
