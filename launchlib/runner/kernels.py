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
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from jupyter_client.manager import KernelManager

__all__ = ["KernelPool", "start_kernel"]

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
    return km


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
        self.current: KernelManager | None = None

    def _submit(self) -> Future[KernelManager]:
        return self._pool.submit(start_kernel, self.cwd, self.env, self.socket_dir, self.warm)

    def take(self, reserved: bool = False) -> KernelManager:
        """The warm kernel; the next one starts warming at once. ``reserved``: the one kept for
        the rollback (once; after that, the next one as usual)."""
        with self._lock:
            if reserved and self._reserved is not None:
                km, self._reserved = self._reserved.result(), None
            else:
                km = self._next.result()
                self._next = self._submit()
            self.current = km
        return km

    def interrupt(self) -> bool:
        """Interrupt the kernel running a notebook now, if any (KeyboardInterrupt in its cell)."""
        with self._lock:
            km = self.current
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
        self._pool.submit(km.shutdown_kernel, now=True)

    def close(self) -> None:
        with self._lock:
            waiting = [f for f in (self._next, self._reserved) if f is not None]
        for fut in waiting:
            with contextlib.suppress(Exception):  # a kernel that failed to start has nothing to shut down
                fut.result().shutdown_kernel(now=True)
        self._pool.shutdown(wait=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
