"""A warm kernel for the next notebook: started and importing while the current phase runs.

Kernel start-up and the imports of pandas, plotly and scrapbook cost about 1.5 s per notebook;
the runner hides it by preparing the next kernel in the background, so a rollback starts
within a fraction of a second of its decision. Papermill runs a notebook on a given kernel
manager (``km=``) and leaves it running; :class:`KernelPool` shuts each one down after use.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from jupyter_client.manager import KernelManager

__all__ = ["KernelPool"]

WARM_UP = "import launchlib, launchlib.phases, launchlib.charts, launchlib.widgets, scrapbook, plotly, pandas"


def _start(cwd: str, env: dict[str, str]) -> KernelManager:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=cwd, env={**os.environ, **env})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(WARM_UP, timeout=60)
    finally:
        kc.stop_channels()
    return km


class KernelPool:
    """Always one kernel ready (or getting ready) for the next notebook."""

    def __init__(self, cwd: str, env: dict[str, str] | None = None) -> None:
        """Kernels start in ``cwd`` with the process environment plus ``env``."""
        self.cwd, self.env = cwd, dict(env or {})
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="launchlib-kernel")
        self._next: Future[KernelManager] = self._pool.submit(_start, cwd, self.env)
        self._lock = threading.Lock()

    def take(self) -> KernelManager:
        """The warm kernel; the next one starts warming at once."""
        with self._lock:
            km = self._next.result()
            self._next = self._pool.submit(_start, self.cwd, self.env)
        return km

    def release(self, km: KernelManager) -> None:
        """Shut a used kernel down in the background."""
        self._pool.submit(km.shutdown_kernel, now=True)

    def close(self) -> None:
        with self._lock:
            nxt = self._next
        with contextlib.suppress(Exception):  # a kernel that failed to start has nothing to shut down
            nxt.result().shutdown_kernel(now=True)
        self._pool.shutdown(wait=True)
