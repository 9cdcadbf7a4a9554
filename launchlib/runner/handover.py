"""The hand-over to the rollback: its notebook starts the moment a decision lands, not after the
phase it stops has wound down.

Interrupting a phase and letting its notebook end (papermill writes it, the runner reads its
result) took 1–1.6 real seconds on a quiet host and 2.5 beside a CPU hog: at 30× that is 74
launch seconds of an immediate tier's 300. A :class:`RollbackHandover` starts the rollback
notebook on a thread of its own (on the pool's reserved, warm kernel) while the supervisor
interrupts the phase; the timeline then records both, in order, from its own thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from launchlib.runfolder.result import PhaseResult

__all__ = ["RollbackHandover"]


class RollbackHandover:
    """The rollback notebook, started once, whoever asks first (the supervisor, the timeline).

    ``prepare`` runs in the caller's thread before the notebook starts (the supervisor's watch of
    the rollback begins there, so no decision interrupts it); ``execute`` runs the notebook in a
    thread of its own. :meth:`result` waits for it and returns its result or raises its error.
    """

    def __init__(self, prepare: Callable[[], None], execute: Callable[[], PhaseResult]) -> None:
        self._prepare, self._execute = prepare, execute
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._result: PhaseResult | None = None
        self._error: BaseException | None = None
        self.began: float | None = None  # perf_counter when the rollback started
        self._thread = threading.Thread(target=self._run, name="launchlib-rollback", daemon=True)

    @property
    def started(self) -> bool:
        return self.began is not None

    def start(self) -> bool:
        """Start the rollback now; ``False`` when it had already started."""
        with self._lock:
            if self.began is not None:
                return False
            self.began = time.perf_counter()
            self._prepare()
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            self._result = self._execute()
        except BaseException as exc:  # handed to the timeline's thread by result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> PhaseResult:
        """The rollback notebook's result, once it ended (its error re-raised here)."""
        if not self.started:
            raise RuntimeError("the rollback was never started")
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
