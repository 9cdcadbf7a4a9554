"""Continuous monitoring of a run: sample the target, feed the trigger engine, record as it goes.

The monitor starts before the deploy (its samples are the baseline), learns the deploy time
from the run's ``deployed`` event, then feeds the :class:`~launchlib.triggers.TriggerEngine`
incrementally and appends every firing and the rollback decision to ``decisions.jsonl`` the
moment they happen. Samples go to ``samples/part-*.parquet`` about once a second. It runs in
a background thread of the runner (or of ``launchlib monitor`` on launch day), so it does not
stop between notebooks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import asdict
from pathlib import Path

from launchlib.plan import Plan
from launchlib.runlog import DECISIONS, SAMPLES_DIR, append_jsonl, event_time, write_json
from launchlib.sampler import Row, Sampler, samples_frame
from launchlib.target import Target
from launchlib.triggers import TriggerEngine

__all__ = ["Monitor"]

PART_S = 1.0


class Monitor:
    """Sample ``target`` at ``rate`` requests/s and watch the plan's triggers, in a thread."""

    def __init__(
        self,
        plan: Plan,
        target: Target,
        run_dir: Path | str,
        *,
        compress: float = 1.0,
        rate: float = 100.0,
        lateness_s: float = 0.3,
    ) -> None:
        self.plan, self.target, self.run_dir = plan, target, Path(run_dir)
        self.compress, self.rate, self.lateness_s = compress, rate, lateness_s
        self.engine: TriggerEngine | None = None
        self.deploy_at: float | None = None
        self._baseline: list[Row] = []
        self._part: list[Row] = []
        self._part_started = time.time()
        self._parts = 0
        self._decided = False
        self.samples = 0
        self.error: BaseException | None = None
        self._sampler = Sampler(target, rate, on_rows=self._on_rows, flush_s=0.1)
        self._thread = threading.Thread(target=self._run, name="launchlib-monitor", daemon=True)
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Monitor:
        (self.run_dir / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
        self._status("running")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._sampler.stop()
        self._thread.join(timeout=self.target.timeout_s + 5.0)
        with self._lock:
            self._write_part()
            self._evaluate(time.time() + self.lateness_s + 1.0)
        self._status("stopped")

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._sampler.run())
        except BaseException as exc:  # recorded for the runner; a dead monitor is a finding
            self.error = exc
            self._status(f"failed: {exc}")

    # -- per batch of rows ----------------------------------------------------------------
    def _on_rows(self, rows: list[Row]) -> None:
        with self._lock:
            self.samples += len(rows)
            self._part += rows
            if time.time() - self._part_started >= PART_S:
                self._write_part()
            if self.engine is None:
                self._baseline += rows
                self.deploy_at = event_time(self.run_dir, "deployed")
                if self.deploy_at is None:
                    return
                self.engine = TriggerEngine(
                    self.plan, self.deploy_at, compress=self.compress, lateness_s=self.lateness_s
                )
                rows, self._baseline = self._baseline, []
                self._status("watching")
            self.engine.feed(samples_frame(rows))
            self._evaluate(time.time())

    def _evaluate(self, now: float) -> None:
        if self.engine is None:
            return
        for f in self.engine.advance(now):
            append_jsonl(
                self.run_dir / DECISIONS, {"type": "firing", "recorded_at": time.time(), **asdict(f)}
            )
        d = self.engine.decision()
        if d.decision == "rollback" and not self._decided:
            self._decided = True
            append_jsonl(
                self.run_dir / DECISIONS, {"type": "decision", "recorded_at": time.time(), **d.to_dict()}
            )

    def _write_part(self) -> None:
        if not self._part:
            return
        self._parts += 1
        path = self.run_dir / SAMPLES_DIR / f"part-{self._parts:05d}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        samples_frame(self._part).to_parquet(tmp, index=False)
        tmp.replace(path)
        self._part, self._part_started = [], time.time()

    def _status(self, state: str) -> None:
        write_json(
            self.run_dir / "monitor.json",
            {
                "state": state,
                "target": self.target.base_url,
                "rate": self.rate,
                "compress": self.compress,
                "deploy_at": self.deploy_at,
                "samples": self.samples,
                "updated": time.time(),
            },
        )
