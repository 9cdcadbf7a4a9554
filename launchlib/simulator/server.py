"""Run the simulator as a real HTTP server on loopback, in a background thread or foreground.

Tests and the rollback drill start it in-process with :class:`SimServer`; ``launchlib sim serve``
and the child of :class:`~launchlib.simulator.process.SimProcess` (the rehearsal's and the
standalone notebooks' simulator) run it in the foreground. The socket is bound before the server
starts, so a port in use is a clear :class:`~launchlib.errors.TargetError` at once.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from launchlib.errors import TargetError
from launchlib.simulator.app import SimConfig, SimState, create_app
from launchlib.simulator.scenarios import Fault

__all__ = ["SimServer", "bind_socket"]


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; a busy port raises TargetError naming it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise TargetError(
                f"simulator: port {port} on {host} is already in use; choose another --port"
            ) from None
        raise TargetError(f"simulator: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _http_impl() -> str:
    """httptools (C parser) when installed: less server time per request than h11."""
    try:
        import httptools  # noqa: F401  (optional C parser: only whether it is installed)
    except ImportError:
        return "h11"
    return "httptools"


class SimServer:
    """The simulator on ``http://host:port`` (port 0 picks a free one) until :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SimConfig | None = None,
        faults: list[Fault] | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        """Bind ``host:port`` now, or serve ``sock`` (a socket already bound, e.g. inherited)."""
        self.app = create_app(config, faults)
        self._sock = sock if sock is not None else bind_socket(host, port)
        self.host: str = self._sock.getsockname()[0] if sock is not None else host
        self.port: int = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._exit = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def config(self) -> SimConfig:
        return self.state.config

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http=_http_impl(),
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,  # a request held by a hang fault does not hold the stop
        )

    def start(self) -> SimServer:
        """Serve in a daemon thread; returns once the server accepts connections."""
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(target=self._run, name=f"launchlib-sim:{self.port}", daemon=True)
        self._thread.start()
        for _ in range(500):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            raise TargetError(f"simulator: did not start on {self.url}")
        return self

    def _run(self) -> None:
        assert self._server is not None
        asyncio.run(self._server.serve(sockets=[self._sock]))

    @property
    def alive(self) -> bool:
        """Whether the server thread still serves (a stopped simulator stops a rehearsal)."""
        return self._thread is not None and self._thread.is_alive()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (``launchlib sim serve``)."""
        self._server = uvicorn.Server(self._config())
        self._server.should_exit = self._exit
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def shutdown(self) -> None:
        """Ask :meth:`serve_forever` (or the thread of :meth:`start`) to stop, from any thread."""
        self._exit = True
        if self._server is not None:
            self._server.should_exit = True

    def stop(self) -> None:
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimServer({self.url}, release={self.state.release})"

    def command(self, cmd: str, **body: Any) -> dict[str, Any]:
        """Call the control API in-process-free way: over HTTP, as any client would."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            r = (
                client.post(f"/_sim/{cmd}", json=body)
                if body or cmd != "state"
                else client.get("/_sim/state")
            )
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data
