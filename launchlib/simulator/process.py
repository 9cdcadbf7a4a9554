"""The embedded simulator in a process of its own, as the service is on launch day.

A rehearsal's runner measures the simulator; in one interpreter the monitor's client and the
simulator's server would share the GIL, and on a busy host each would wait on the other (and on
the runner's own work) for every request: latency the service never had. So the rehearsal and the
standalone notebooks start it here: the parent binds the loopback socket (the port is known and
taken before the child starts), the child (``python -m launchlib.simulator.process FD``) reads its
settings as one JSON line on stdin and serves on the inherited socket until stdin closes: a
runner that dies takes its simulator with it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from types import TracebackType

import httpx

from launchlib.errors import TargetError
from launchlib.plan.model import Plan
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import Fault, Scenario
from launchlib.simulator.server import SimServer, bind_socket

__all__ = ["SimProcess", "embedded_simulator"]

START_TIMEOUT_S = 30.0


class SimProcess:
    """The simulator served by a child process on ``http://127.0.0.1:port`` until :meth:`stop`."""

    def __init__(self, config: SimConfig, faults: list[Fault] | None = None, host: str = "127.0.0.1") -> None:
        self.config, self.faults, self.host = config, list(faults or []), host
        self._sock = bind_socket(host, 0)
        self.port: int = self._sock.getsockname()[1]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the child's stderr, kept until stop()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimProcess:
        """Start the child and return once it answers ``/health``; a child that fails says why."""
        fd = self._sock.fileno()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "launchlib.simulator.process", str(fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            pass_fds=[fd],
            start_new_session=True,  # Ctrl-C reaches the runner, which stops it in order
        )
        settings = {"config": asdict(self.config), "faults": [f.model_dump(mode="json") for f in self.faults]}
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(settings).encode() + b"\n")
        self._proc.stdin.flush()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                httpx.get(f"{self.url}/version", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        why = self.log_tail() or "no answer"
        self.stop()
        raise TargetError(f"simulator: did not start on {self.url}: {why}")

    @property
    def alive(self) -> bool:
        """Whether the child still serves (a stopped simulator stops a rehearsal)."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 400) -> str:
        """The end of what the child wrote to stderr (why it stopped), on one line."""
        self._log.seek(0)
        return " ".join(self._log.read().decode(errors="replace")[-chars:].split())

    def stop(self) -> None:
        """Close the child's stdin (it stops serving), then wait; terminate it if it lingers."""
        if self._proc is not None:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._sock.close()
        self._log.close()

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimProcess({self.url}, pid={self._proc.pid if self._proc else None})"


def embedded_simulator(plan: Plan, scenario: Scenario | None, compress: float) -> SimProcess:
    """The simulator a rehearsal or a standalone notebook starts: the plan's releases, the
    scenario's seed and faults, restarts of 15 launch seconds; on a free loopback port."""
    cfg = SimConfig(
        seed=scenario.seed if scenario else SimConfig.seed,
        previous=plan.releases.previous,
        candidate=plan.releases.candidate,
        restart_s=15.0 / compress,
        compress=compress,
        report_loop_lag=True,  # it shares the rehearsal's host: a busy host is not the service
    )
    return SimProcess(cfg, list(scenario.faults) if scenario else []).start()


def _serve(fd: int) -> None:
    """The child: settings from stdin's first line, serve the inherited socket until stdin closes."""
    settings = json.loads(sys.stdin.readline())
    config = SimConfig(**settings["config"])
    faults = [Fault.model_validate(f) for f in settings["faults"]]
    server = SimServer(config=config, faults=faults, sock=socket.socket(fileno=fd))

    def orphaned() -> None:
        sys.stdin.read()  # returns at EOF: the parent stopped us, or is gone
        server.shutdown()

    threading.Thread(target=orphaned, name="launchlib-sim-parent", daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
