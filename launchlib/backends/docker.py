"""The Docker deployment backend: a compose project's release containers through the Docker Engine API.

A compose stack runs services built from release-tagged images (``trading-api:v1.5.0``) next to
services launchlib leaves alone (PostgreSQL, Redis, Prometheus). The *release services* are the
project's containers whose image tag is the plan's previous or candidate release; deploying or
rolling back recreates exactly those containers with the other tag, keeping everything else of
their configuration (environment, command, ports, mounts, networks, labels), as
``docker compose up -d`` does after the tag changes. No registry is needed: images must be on the
host (``deploy_ready`` reports which releases are).

Emergency rollback replaces every release service at once, from whatever the previous tag names
(the seed's ``down``/``up``). Controlled rollback is the verified path: it first points the previous
tag back at the image each service ran before the deploy (recorded on the deployed containers, as
the seed's ``docker compose pull`` restores a tag from the registry), then goes one service at a
time, by image rather than by tag, and waits for each to be running (and healthy, when the image
has a healthcheck).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container

from launchlib.backends.base import wait_release
from launchlib.errors import TargetError
from launchlib.probing.target import Target

__all__ = ["PINNED_LABEL", "PROJECT_LABEL", "SERVICE_LABEL", "DockerDeployer"]

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
PINNED_LABEL = "io.launchlib.replaced-image"  # on a deployed container: the image ID it replaced
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
API_VERSION = "1.41"  # Docker 20.10 (Debian 12's docker.io); newer engines still serve it


def _repo_tag(image: str) -> tuple[str, str]:
    repo, _, tag = image.rpartition(":")
    return (repo, tag) if repo and "/" not in tag else (image, "latest")


def _image(c: Container) -> tuple[str, str]:
    """The (repository, tag) a container was created from."""
    return _repo_tag(c.attrs["Config"]["Image"])


def _ref(c: Container, tag: str) -> str:
    """``c``'s repository at ``tag``."""
    return f"{_image(c)[0]}:{tag}"


class DockerDeployer:
    """Deploy and roll back the release services of compose project ``project``."""

    def __init__(
        self,
        target: Target,
        project: str,
        *,
        previous: str,
        candidate: str,
        docker_url: str | None = None,
        ready_timeout_s: float = 60.0,
    ) -> None:
        self.target, self.project = target, project
        self.previous, self.candidate = previous, candidate
        self.ready_timeout_s = ready_timeout_s
        where = docker_url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
        sock = where.removeprefix("unix://") if where.startswith(("unix://", "/")) else ""
        if sock and not Path(sock).exists():  # say so plainly (docker-py would leak the failed socket)
            raise TargetError(
                f"Docker Engine at {where}: unreachable (no socket at {sock}; is dockerd running?)"
            )
        try:  # a fixed API version: no request before ping, so a failure is reported (and closed) here
            self.client = (
                docker.DockerClient(base_url=docker_url, version=API_VERSION)
                if docker_url
                else docker.from_env(version=API_VERSION)
            )
        except docker.errors.DockerException as exc:
            raise TargetError(f"Docker Engine at {where}: unusable ({exc})") from None
        try:
            self.client.ping()
        except (docker.errors.DockerException, requests.RequestException) as exc:
            self.client.close()
            raise TargetError(f"Docker Engine at {where}: unreachable ({exc})") from None

    def close(self) -> None:
        self.client.close()

    # -- reading -----------------------------------------------------------------------------
    def _project_containers(self) -> list[Container]:
        found = self.client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"})
        return sorted(found, key=lambda c: c.name)

    def release_containers(self) -> list[Container]:
        """The project's containers whose image tag is a release of the plan."""
        out = []
        for c in self._project_containers():
            if _image(c)[1] in (self.previous, self.candidate):
                out.append(c)
        if not out:
            raise TargetError(
                f"docker project {self.project!r}: no container runs an image tagged"
                f" {self.previous!r} or {self.candidate!r}"
            )
        return out

    def containers(self) -> list[dict[str, Any]]:
        """Every container of the project: service, image, state and health, for checks and reports."""
        rows = []
        for c in self._project_containers():
            state = c.attrs["State"]
            rows.append(
                {
                    "name": c.name,
                    "service": c.labels.get(SERVICE_LABEL, c.name),
                    "image": c.attrs["Config"]["Image"],
                    "status": state.get("Status", "unknown"),
                    "health": (state.get("Health") or {}).get("Status", "none"),
                }
            )
        return rows

    def state(self) -> dict[str, Any]:
        tags = {_image(c)[1] for c in self.release_containers()}
        return {
            "release": tags.pop() if len(tags) == 1 else "mixed",
            "containers": self.containers(),
            "releases": self.releases(),
        }

    def releases(self) -> dict[str, str]:
        """Which of the plan's releases have an image on the host for every release service."""
        repos = {_image(c)[0] for c in self.release_containers()}
        out = {}
        for name, tag in (("previous", self.previous), ("candidate", self.candidate)):
            if all(self._has_image(f"{repo}:{tag}") for repo in repos):
                out[name] = tag
        return out

    def _has_image(self, ref: str) -> bool:
        return self.image_id(ref) is not None

    def image_id(self, ref: str) -> str | None:
        """The ID of the image ``ref`` names on the host, or None."""
        try:
            return str(self.client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None

    def release_repos(self) -> list[str]:
        """The image repositories of the release services (``trading-api`` of ``trading-api:v1.5.0``)."""
        return sorted({_image(c)[0] for c in self.release_containers()})

    # -- changing ----------------------------------------------------------------------------
    def deploy(self, release: str) -> dict[str, Any]:
        """Every release service onto ``release``, one at a time, each waited for."""
        return {"release": release, "replaced": self._switch(release, rolling=True, pin=True)}

    def rollback(self, procedure: str) -> dict[str, Any]:
        """Back to the previous release: ``emergency`` all at once by tag, ``controlled`` one by one
        by the image each service ran before the deploy."""
        if procedure == "emergency":
            return {
                "release": self.previous,
                "procedure": procedure,
                "replaced": self._switch(self.previous, rolling=False),
            }
        retagged = self._restore_previous_tags()
        replaced = self._switch(self.previous, rolling=True, by_image=True)
        return {"release": self.previous, "procedure": procedure, "replaced": replaced, "retagged": retagged}

    def _restore_previous_tags(self) -> list[str]:
        """Point each release repository's previous tag back at the image recorded at the deploy."""
        out = []
        for c in self.release_containers():
            repo, pin = _image(c)[0], c.labels.get(PINNED_LABEL)
            ref = f"{repo}:{self.previous}"
            if not pin or self.image_id(ref) == pin:
                continue
            try:
                self.client.images.get(pin).tag(repo, self.previous)
            except docker.errors.ImageNotFound:
                raise TargetError(
                    f"docker: {ref} was moved and the image it named at the deploy ({pin[:19]}) is gone"
                ) from None
            out.append(ref)
        return sorted(set(out))

    def _switch(self, release: str, *, rolling: bool, pin: bool = False, by_image: bool = False) -> list[str]:
        if by_image:  # what runs, whatever its tag says
            found = self.release_containers()
            olds = [c for c in found if c.attrs["Image"] != self.image_id(_ref(c, release))]
        else:
            olds = [c for c in self.release_containers() if _image(c)[1] != release]
        for c in olds:
            ref = _ref(c, release)
            if not self._has_image(ref):
                raise TargetError(f"docker: image {ref} not on the host (build or load it first)")
        names = [c.name for c in olds]
        if rolling:
            for c in olds:
                self._settle([self._replace(c, release, pin)])
        else:
            pairs: list[tuple[Container, Container, str]] = []
            try:
                for c in olds:
                    pairs.append(self._replace(c, release, pin))
            except TargetError:  # one could not be created: put back those already switched
                for _new, old, name in pairs:
                    self._undo(name, old)
                raise
            self._settle(pairs)
        return names

    def _settle(self, pairs: list[tuple[Container, Container, str]]) -> None:
        """Wait for the new containers; keep them and drop the old, or put every old one back."""
        try:
            for new, _old, _name in pairs:
                self._wait_ready(new)
        except TargetError:
            for _new, old, name in pairs:
                self._undo(name, old)
            raise
        for _new, old, _name in pairs:
            old.remove()

    def _replace(self, old: Container, release: str, pin: bool = False) -> tuple[Container, Container, str]:
        """Start ``old``'s service from ``repo:release`` with its configuration; ``old`` is kept stopped.
        ``pin`` records the image ``old`` ran on the new container (:data:`PINNED_LABEL`).

        Returns (new, old, name); a failure to create or start puts ``old`` back at once.
        """
        attrs, api, name = old.attrs, self.client.api, old.name
        cfg, image_cfg = attrs["Config"], api.inspect_image(attrs["Image"])["Config"] or {}
        ref = _ref(old, release)

        def own(key: str) -> Any:  # set on the container rather than inherited from the old image
            return cfg.get(key) if cfg.get(key) != image_cfg.get(key) else None

        image_env, image_labels = image_cfg.get("Env") or [], image_cfg.get("Labels") or {}
        labels = {k: v for k, v in (cfg.get("Labels") or {}).items() if k not in image_labels}
        if pin:
            labels[PINNED_LABEL] = attrs["Image"]
        mode = attrs["HostConfig"].get("NetworkMode", "default")
        nets = attrs["NetworkSettings"].get("Networks") or {}
        if old.status == "paused":  # a frozen container (a fault, a deadlock) cannot be stopped
            old.unpause()
        old.stop(timeout=10)
        old.rename(f"{name}-replaced-{int(time.time())}")
        try:
            created = api.create_container(
                ref,
                name=name,
                command=own("Cmd"),
                entrypoint=own("Entrypoint"),
                working_dir=own("WorkingDir"),
                environment=[e for e in cfg.get("Env") or [] if e not in image_env],
                labels=labels,
                ports=[tuple(p.split("/")) for p in (cfg.get("ExposedPorts") or {})],
                host_config=attrs["HostConfig"],
                healthcheck=own("Healthcheck"),
            )
            for net, ep in nets.items():
                if net != mode and mode not in ("host", "none"):
                    aliases = [a for a in ep.get("Aliases") or [] if a != cfg.get("Hostname")]
                    api.connect_container_to_network(created["Id"], net, aliases=aliases or None)
            api.start(created["Id"])
        except docker.errors.APIError as exc:
            self._undo(name, old)
            raise TargetError(f"docker: recreating {name} from {ref}: {exc.explanation or exc}") from None
        return self.client.containers.get(created["Id"]), old, name

    def _undo(self, name: str, old: Container) -> None:
        """Remove what runs under ``name`` and bring ``old`` back under it."""
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)
        old.rename(name)
        old.start()

    def _wait_ready(self, c: Container) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            c.reload()
            state = c.attrs["State"]
            health = (state.get("Health") or {}).get("Status")
            if state.get("Status") == "running" and health in (None, "healthy"):
                return
            if state.get("Status") in ("exited", "dead") or health == "unhealthy":
                raise TargetError(f"docker: {c.name} is {health or state.get('Status')} after the switch")
            time.sleep(0.2)
        raise TargetError(f"docker: {c.name} not ready after {self.ready_timeout_s:.0f} s")

    def wait_serving(self, release: str, timeout_s: float = 30.0) -> float:
        """Poll the target's ``/version`` until ``release`` answers; the wall time it first did."""
        return wait_release(self.target, release, timeout_s)
