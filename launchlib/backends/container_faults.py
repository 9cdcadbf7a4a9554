"""A scenario's container faults, acted on a compose project through the Docker Engine API.

The simulator injects its faults itself; a real stack is made to fail from outside, as the launch's
own infrastructure would: a container paused, stopped, killed or restarted at a launch time after
T-0 (the ``deployed`` event of the run). A **release** fault follows the candidate's containers
(those running the fault's release, of its service or of every release service): the rollback that
replaces them removes the fault, as rolling back a bad release would. An **infrastructure** fault
acts on its service's containers whatever their image and outlives a release rollback until its
``end_s``, when a paused container is unpaused and a stopped or killed one started again. A
``bad_rollback`` fault moves the previous release's tag onto the candidate's image (the image, not a
container, is damaged), so the emergency rollback, which trusts the tag, brings the candidate back;
the controlled rollback restores the tag, and so does the fault's end or the injector's stop (a
rehearsal leaves no moved tag behind). Every act is an event of the run (``fault_injected`` /
``fault_cleared``); an act the Engine refuses stops the injector with :attr:`ContainerFaults.error`,
which the runner's supervisor turns into a broken run: a rehearsal whose fault never happened must
not be scored.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docker.errors
import requests
from docker.models.containers import Container

from launchlib.backends.docker import PROJECT_LABEL, SERVICE_LABEL, DockerDeployer
from launchlib.runfolder.events import Event, event_time, record_event
from launchlib.simulator.scenarios import Binding, Fault, FaultKind

__all__ = ["ContainerFaults"]


class ContainerFaults:
    """Acts ``faults`` on the deployer's project on the launch clock, in a thread of its own."""

    def __init__(
        self,
        deployer: DockerDeployer,
        faults: list[Fault],
        run_dir: Path,
        compress: float,
        poll_s: float = 0.05,
    ) -> None:
        self.deployer, self.faults, self.run_dir = deployer, list(faults), run_dir
        self.compress, self.poll_s = compress, poll_s
        self.error: str | None = None
        self._acted: dict[int, list[Container]] = {}  # fault index → the containers it acted on
        self._moved: dict[str, str] = {}  # repository → the image its previous tag named before
        self._cleared: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="launchlib-container-faults", daemon=True)

    def start(self) -> ContainerFaults:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30.0)
        if not self._thread.is_alive():
            self._restore_tags()

    # -- the image tag a bad_rollback moves ------------------------------------------------------
    def _move_tags(self, i: int, fault: Fault, launch_s: float) -> None:
        d = self.deployer
        for repo in d.release_repos():
            before = d.image_id(f"{repo}:{d.previous}")
            if before and d.image_id(f"{repo}:{d.candidate}") not in (None, before):
                self._moved[repo] = before
                d.client.images.get(f"{repo}:{d.candidate}").tag(repo, d.previous)
        self._acted[i] = []
        moved = [f"{repo}:{d.previous}" for repo in sorted(self._moved)]
        record_event(
            self.run_dir,
            Event.FAULT_INJECTED,
            fault=fault.kind.value,
            binding=fault.binding.value,
            images=moved,
            launch_s=round(launch_s, 1),
            detail=f"{', '.join(moved)} now names the image of {d.candidate}"
            if moved
            else f"no release image tagged both {d.previous} and {d.candidate}",
        )

    def _restore_tags(self) -> list[str]:
        """Put back every previous tag this injector moved and the rollback did not restore."""
        d, back = self.deployer, []
        for repo, image in sorted(self._moved.items()):
            if d.image_id(f"{repo}:{d.previous}") != image:
                d.client.images.get(image).tag(repo, d.previous)
                back.append(f"{repo}:{d.previous}")
        self._moved.clear()
        return back

    # -- which containers --------------------------------------------------------------------
    def targets(self, fault: Fault) -> list[Container]:
        """The containers the fault acts on now (see the module doc)."""
        found = self.deployer.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.deployer.project}"}
        )
        if fault.service:
            found = [c for c in found if c.labels.get(SERVICE_LABEL) == fault.service]
        if fault.binding is Binding.RELEASE:
            found = [c for c in found if c.attrs["Config"]["Image"].rpartition(":")[2] == fault.release]
        live = [c for c in found if c.status in ("running", "paused", "restarting")]
        return sorted(live, key=lambda c: c.name)

    # -- acts ----------------------------------------------------------------------------------
    def _inject(self, i: int, fault: Fault, launch_s: float) -> None:
        if fault.kind is FaultKind.BAD_ROLLBACK:
            self._move_tags(i, fault, launch_s)
            return
        found = self.targets(fault)
        for c in found:
            if fault.kind is FaultKind.CONTAINER_PAUSE:
                c.pause()
            elif fault.kind is FaultKind.CONTAINER_STOP:
                c.stop(timeout=5)
            elif fault.kind is FaultKind.CONTAINER_KILL:
                c.kill()
            elif fault.kind is FaultKind.CONTAINER_RESTART:
                c.restart(timeout=5)
            elif fault.kind is FaultKind.CONTAINER_EXEC:
                code, out = c.exec_run(list(fault.command))
                if code:  # a fault that did not happen must not be scored
                    text = out.decode(errors="replace").strip()[-200:]
                    raise docker.errors.DockerException(f"{' '.join(fault.command)} exited {code}: {text}")
        self._acted[i] = found
        record_event(
            self.run_dir,
            Event.FAULT_INJECTED,
            fault=fault.kind.value,
            binding=fault.binding.value,
            containers=[c.name for c in found],
            launch_s=round(launch_s, 1),
            detail=""
            if found
            else f"no running container of {fault.service or 'the release services'}"
            + (f" on {fault.release}" if fault.binding is Binding.RELEASE else ""),
        )

    def _clear(self, i: int, fault: Fault, launch_s: float) -> None:
        back = self._restore_tags() if fault.kind is FaultKind.BAD_ROLLBACK else []
        for c in self._acted.get(i, []):
            try:
                c.reload()
            except docker.errors.NotFound:  # replaced (a rollback): nothing left to undo
                continue
            if fault.kind is FaultKind.CONTAINER_PAUSE and c.status == "paused":
                c.unpause()
                back.append(c.name)
            elif fault.kind in (FaultKind.CONTAINER_STOP, FaultKind.CONTAINER_KILL) and c.status == "exited":
                c.start()
                back.append(c.name)
        self._cleared.add(i)
        at = round(launch_s, 1)
        record_event(self.run_dir, Event.FAULT_CLEARED, fault=fault.kind.value, containers=back, launch_s=at)

    def _loop(self) -> None:
        deployed: float | None = None
        while not self._stop.wait(self.poll_s):
            deployed = deployed or event_time(self.run_dir, Event.DEPLOYED)
            if deployed is None:
                continue
            t = (time.time() - deployed) * self.compress
            try:
                for i, f in enumerate(self.faults):
                    if i not in self._acted and t >= f.start_s:
                        self._inject(i, f, t)
                    elif i in self._acted and i not in self._cleared and f.end_s is not None and t >= f.end_s:
                        self._clear(i, f, t)
            except (docker.errors.DockerException, requests.RequestException) as exc:
                self.error = f"container fault not injected at T+{t:.0f}s: {type(exc).__name__}: {exc}"
                return
            if len(self._acted) == len(self.faults) and all(
                f.end_s is None or i in self._cleared for i, f in enumerate(self.faults)
            ):
                return
