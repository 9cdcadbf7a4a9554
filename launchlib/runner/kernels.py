"""Kernels for the phase notebooks: started by launchlib, warm, interruptible, on IPC sockets.

Kernel start-up and the imports of pandas, plotly and scrapbook cost about 1.5 s per notebook
(several on a busy host); :class:`KernelPool` hides it by preparing the next kernel while the
current phase runs, and keeps one more warm from the start for the rollback, so a rollback never
waits for a kernel, however soon after a phase began its decision comes (at 30× each real
second of waiting is half a launch minute of the tier's deadline). Papermill runs a notebook on a
given kernel manager (``km=``) and leaves it running; the pool shuts each one down after use.

Kernels listen on Unix sockets in a private folder (``transport="ipc"`` with an absolute path):
nothing on the network, no dependence on anyone's working directory, and ipykernel has no
reason to warn about unencrypted TCP. The runner interrupts a kernel (SIGINT to the kernel
process only) to stop a phase at once on a rollback decision, a dead monitor or Ctrl-C.

Kernels run at the runner's own CPU priority: niced, a kernel sharing a core with a busy process
got a tenth of it, and its own load tests (T-12h, the post-rollback checks) measured the wait as
latency (``bench/README.md``). Only their warm-up imports run niced, in a thread of their own
(:data:`WARM_UP`): they happen while another phase runs.

A kernel can die (an OOM kill, a crash). Papermill is handed an *asynchronous* client
(:data:`ASYNC_CLIENT`, :class:`ReadyKernelClient`): with the blocking one, nbclient waited on
the kernel's output socket inside its event loop and never ran its own is-the-kernel-alive poll,
so a dead kernel hung the phase for ever. The pool is watched too (:meth:`KernelPool.watch`): a
dead warm or reserved kernel is replaced, and :meth:`KernelPool.take` never hands out a dead one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient  # imported here, once: see _STARTING
from jupyter_client.manager import KernelManager

__all__ = ["ASYNC_CLIENT", "KernelPool", "ReadyKernelClient", "how_it_ended", "kill_kernel", "start_kernel"]

#: the client class papermill gets: awaitable reads, so nbclient's dead-kernel poll runs
ASYNC_CLIENT = "launchlib.runner.kernels.ReadyKernelClient"


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, ready as soon as the kernel says so.

    Its ``wait_for_ready`` ends with 0.2 s of IOPub silence (it cannot know which messages are
    still to come), and nbclient waits for it before every notebook: 0.2 s of each phase's start
    and of every rollback's. Here it ends at the IOPub ``idle`` status of its own
    ``kernel_info`` request, which the kernel sends last; a request whose status never comes
    (IOPub not connected yet) is asked again, as jupyter_client does."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
        while time.monotonic() < deadline:
            asked = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            answered = reply is not None and reply["parent_header"].get("msg_id") == asked
            if answered and await self._idle_after(asked, min(1.0, max(0.05, deadline - time.monotonic()))):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _idle_after(self, msg_id: str, timeout: float) -> bool:
        """Read IOPub up to the kernel's ``idle`` for ``msg_id``; ``False`` if it did not come in time."""
        until = time.monotonic() + timeout
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (
                msg["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
        return False


#: one kernel launched at a time: Python 3.11 before 3.11.8 keeps the AST validator's recursion
#: depth per process, not per thread (gh-106905); with two pool threads starting kernels at once
#: the test process later failed with "AST constructor recursion depth mismatch" (seen here)
_STARTING = threading.Lock()

#: imports done before a kernel is handed out, in a thread of their own at nice 10 (Linux sets a
#: thread's nice value alone): a kernel warming up while a phase runs must not take the CPU from
#: the service, the monitor or the running phase's load test. Their own namespace: the notebook's
#: globals stay its own.
WARM_UP = """
def _warm():
    import os, threading
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    import launchlib, launchlib.launch.phases, launchlib.report.charts, launchlib.signoff.widgets
    import scrapbook, plotly, pandas
import threading as _threading
_t = _threading.Thread(target=_warm)
_t.start()
_t.join()
"""


def start_kernel(cwd: str, env: dict[str, str], socket_dir: str, warm: bool = True) -> KernelManager:
    """A python3 kernel in ``cwd`` with the process environment plus ``env``, ready to run."""
    km = KernelManager(kernel_name="python3", transport="ipc")
    km.ip = os.path.join(socket_dir, uuid.uuid4().hex[:12])
    km.connection_file = km.ip + ".json"
    with _STARTING:
        km.start_kernel(cwd=cwd, env={**os.environ, **env})
        kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        if warm:
            # a failed import is said where it matters: in the notebook's first cell
            kc.execute_interactive(f"exec({WARM_UP!r}, {{}})", timeout=60)
    finally:
        kc.stop_channels()
    km.client_class = ASYNC_CLIENT
    return km


def how_it_ended(km: KernelManager) -> str:
    """``signal 9`` or ``exit code 1``: how a kernel process ended (``running`` if it has not)."""
    proc = getattr(km.provisioner, "process", None)  # a local kernel's Popen
    code = proc.poll() if proc is not None else None
    if code is None:
        return "running"
    return f"signal {-code}" if code < 0 else f"exit code {code}"


def kill_kernel(km: KernelManager) -> None:
    """SIGKILL a kernel that does not answer its interrupt (a cell stuck in C code, a stopped process)."""
    pid = getattr(km.provisioner, "pid", None)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _usable(fut: Future[KernelManager]) -> bool:
    """Started, and still alive: can run a notebook now."""
    return fut.done() and fut.exception() is None and fut.result().is_alive()


def _shutdown(km: KernelManager) -> None:
    with contextlib.suppress(Exception):  # a dead kernel has little left to shut down
        km.shutdown_kernel(now=True)


class KernelPool:
    """Always one kernel ready (or getting ready) for the next notebook."""

    def __init__(self, cwd: str, env: dict[str, str] | None = None, warm: bool = True) -> None:
        """Kernels start in ``cwd`` (absolute) with the process environment plus ``env``."""
        self.cwd, self.env, self.warm = os.path.abspath(cwd), dict(env or {}), warm
        self.socket_dir = tempfile.mkdtemp(prefix="launchlib-kernels-")
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="launchlib-kernel")
        self._next: Future[KernelManager] = self._submit()
        self._reserved: Future[KernelManager] | None = self._submit()  # the rollback's
        self._lock = threading.Lock()
        self.current: KernelManager | None = None  # the kernel handed out last
        self.running: dict[str, KernelManager] = {}  # per phase: the kernel running its notebook

    def _submit(self) -> Future[KernelManager]:
        return self._pool.submit(start_kernel, self.cwd, self.env, self.socket_dir, self.warm)

    def take(self, reserved: bool = False, phase: str = "") -> KernelManager:
        """The warm kernel; the next one starts warming at once. ``reserved``: the one kept for
        the rollback (once; after that, the next one as usual), or the warm one if the reserved
        one is not ready. A kernel that died while it waited is never handed out: a fresh one
        starts instead. ``phase`` names the notebook it runs: the rollback runs beside the phase
        it interrupts, and each is interrupted, killed or found dead by its own name."""
        with self._lock:
            fut = self._next
            rb = self._reserved if reserved else None
            if rb is not None and (_usable(rb) or not _usable(self._next)):
                fut, self._reserved = rb, None
            if fut is self._next:
                self._next = self._submit()
        km = self._alive(fut)
        if km is None:
            km = start_kernel(self.cwd, self.env, self.socket_dir, warm=False)
        with self._lock:
            self.current, self.running[phase] = km, km
        return km

    def _alive(self, fut: Future[KernelManager]) -> KernelManager | None:
        try:
            km = fut.result()
        except Exception:  # it failed to start: the caller starts a fresh one (and sees its error)
            return None
        if km.is_alive():
            return km
        self._pool.submit(_shutdown, km)
        return None

    def watch(self) -> list[str]:
        """Replace a waiting kernel that died; says which, and how each ended."""
        said = []
        with self._lock:
            for name, what in (("_next", "warm"), ("_reserved", "reserved rollback")):
                fut = getattr(self, name)
                if fut is None or not fut.done() or fut.exception() is not None:
                    continue
                km = fut.result()
                if not km.is_alive():
                    setattr(self, name, self._submit())
                    self._pool.submit(_shutdown, km)
                    said.append(f"the {what} kernel ended ({how_it_ended(km)}): replaced")
        return said

    def _running(self, phase: str | None) -> KernelManager | None:
        with self._lock:
            return self.current if phase is None else self.running.get(phase)

    def current_death(self, phase: str | None = None) -> str | None:
        """How the kernel running ``phase``'s notebook (default: the one handed out last) ended,
        if it did (``None`` while it lives or when none runs)."""
        km = self._running(phase)
        return None if km is None or km.is_alive() else how_it_ended(km)

    def kill_current(self, phase: str | None = None) -> bool:
        """SIGKILL the kernel running ``phase``'s notebook (it did not answer its interrupt)."""
        km = self._running(phase)
        if km is None:
            return False
        kill_kernel(km)
        return True

    def interrupt(self, phase: str | None = None) -> bool:
        """Interrupt the kernel running ``phase``'s notebook, if any (KeyboardInterrupt in its cell)."""
        km = self._running(phase)
        if km is None:
            return False
        with contextlib.suppress(Exception):  # a kernel that already ended needs no interrupt
            km.interrupt_kernel()
            return True
        return False

    def release(self, km: KernelManager) -> None:
        """Shut a used kernel down in the background."""
        with self._lock:
            if self.current is km:
                self.current = None
            self.running = {p: k for p, k in self.running.items() if k is not km}
        self._pool.submit(km.shutdown_kernel, now=True)

    def close(self) -> None:
        with self._lock:
            waiting = [f for f in (self._next, self._reserved) if f is not None]
        for fut in waiting:
            with contextlib.suppress(Exception):  # a kernel that failed to start has nothing to shut down
                _shutdown(fut.result(timeout=90))
        self._pool.shutdown(wait=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
