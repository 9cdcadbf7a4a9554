"""Continuous monitoring of a run: sample the target, feed the trigger engine, record as it goes.

The monitor starts before the deploy (its samples are the baseline), learns the deploy time
from the run's ``deployed`` event, then feeds the :class:`~launchlib.evaluation.triggers.TriggerEngine`
incrementally and appends every firing and the rollback decision to ``decisions.jsonl`` the
moment they happen. Firings after the decision are marked ``after_decision`` (rollback noise:
the rollback itself restarts services), never causes. Samples go to ``samples/part-*.parquet``
about once a second, numbered after any parts already in the folder: nothing is replaced.

It runs in a background thread of the runner (or of ``launchlib monitor`` on launch day), so it
does not stop between notebooks. Its health is part of the run: :meth:`Monitor.health` says why
it can no longer see (thread ended, send loop stalled, no sample landed for longer than the
plan's monitoring-gap limit), and the runner turns that into a failed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from launchlib.errors import RunError
from launchlib.evaluation.prometheus import PrometheusSource
from launchlib.evaluation.triggers import Firing, TriggerEngine
from launchlib.launch.confirm import Confirmation
from launchlib.plan.model import Plan
from launchlib.plan.thresholds import ConditionMetric
from launchlib.probing.sampler import Row, Sampler, samples_frame
from launchlib.probing.target import Target
from launchlib.runfolder.events import Event, append_jsonl, first_event, read_events
from launchlib.runfolder.files import RunFolder
from launchlib.runfolder.records import DecisionRecord, FiringRecord, read_decisions
from launchlib.runfolder.status import MonitorStatus, read_status, write_status

__all__ = ["LiveStatus", "Monitor", "gap_limit_s", "wait_for_samples"]

PART_S = 1.0
_PART = re.compile(r"part-(\d+)\.parquet$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gap_limit_s(plan: Plan) -> float:
    """The plan's monitoring-gap limit in launch seconds (its ``since_last_sample_s`` trigger)."""
    limits = [
        t.condition.threshold
        for _, t in plan.triggers()
        if t.condition.metric is ConditionMetric.SINCE_LAST_SAMPLE_S and t.condition.threshold is not None
    ]
    return min(limits) if limits else plan.monitoring.window_s


@dataclass
class LiveStatus:
    """What the console shows while watching: the last few seconds of samples and the engine."""

    launch_s: float | None  # launch clock (seconds from T-0), None before the deploy
    requests: int
    api_p95_ms: float | None
    failure_ratio: float | None
    pending: list[str]  # triggers whose condition holds but whose ``for`` has not elapsed
    fired: list[str]
    restart_failures: int = 0  # failed requests of the deploy's restart, before T-0: not the candidate's
    blind: str | None = None  # why the Prometheus judge cannot be read right now


def wait_for_samples(run_dir: Path | str, until: float, timeout_s: float) -> MonitorStatus | None:
    """Wait (at most ``timeout_s``) until the watching monitor has written its samples up to
    ``until`` (it writes a part about once a second); returns its last status."""
    path = RunFolder(run_dir).monitor_file
    status = read_status(path)
    deadline = time.time() + timeout_s
    while (status is None or status.written_until < until) and time.time() < deadline:
        time.sleep(0.1)
        status = read_status(path) or status
    return status


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
        source: PrometheusSource | None = None,
    ) -> None:
        self.plan, self.target, self.run_dir = plan, target, Path(run_dir).absolute()
        # with a Prometheus source the triggers judge its telemetry; the probe's samples are the
        # record (and the load, on a rehearsal) but no longer the judge
        self.source = source
        self.blind: str | None = None  # why the source cannot be read right now
        self._first_ts: float | None = None
        self.compress, self.rate, self.lateness_s = compress, rate, lateness_s
        self.engine: TriggerEngine | None = None
        self.deploy_at: float | None = None
        self.restart_from: float | None = (
            None  # when the deploy began: its restart's failures are not the candidate's
        )
        self._baseline: list[Row] = []
        self._part: list[Row] = []
        self._part_started = time.time()
        self._parts = 0
        self._decided = False
        self.on_firing: Callable[[FiringRecord], None] | None = None  # e.g. post it to the war room
        # the decision to whoever runs the launch in this process (the file is the durable record)
        self.on_decision: Callable[[DecisionRecord], None] | None = None
        # proposals on the plan's confirm tiers, and their answers (read back from the run folder)
        self.confirmation = Confirmation(plan, self.run_dir, compress)
        self.samples = 0
        self.written_until = 0.0  # newest sample time on disk
        self._last_ts: float | None = None  # newest sample time seen
        self.last_rows_at = time.monotonic()
        self.error: BaseException | None = None
        self._recent: deque[Row] = deque(maxlen=max(200, int(rate * 3)))
        self._sampler = Sampler(target, rate, on_rows=self._on_rows, flush_s=0.1)
        self._thread = threading.Thread(target=self._run, name="launchlib-monitor", daemon=True)
        self._judge = threading.Thread(target=self._judge_source, name="launchlib-prometheus", daemon=True)
        self._lock = threading.Lock()
        self._stopping = False
        self._state = "running"  # the status last written
        self._said: list[tuple[str, str]] = []  # the trigger states last written
        real_gap = gap_limit_s(plan) / compress
        # a request may take the client's timeout before its row lands: never judge faster than that
        self.stall_limit_s = max(real_gap, target.timeout_s + 1.0)

    # -- lifecycle ----------------------------------------------------------------------
    def claim(self) -> None:
        """Refuse to start when another monitor is alive on this run (its status names its pid)."""
        status = read_status(RunFolder(self.run_dir).monitor_file)
        if status is None or status.state not in ("running", "watching"):
            return
        pid = status.pid
        if pid is not None and pid != os.getpid() and _alive(pid):
            raise RunError(
                f"{self.run_dir}: a monitor (pid {pid}) is already watching this run; stop it first"
            )

    def start(self) -> Monitor:
        folder = RunFolder(self.run_dir).samples_dir
        folder.mkdir(parents=True, exist_ok=True)
        numbers = [int(m[1]) for p in folder.glob("part-*.parquet") if (m := _PART.search(p.name))]
        self._parts = max(numbers, default=0)  # continue the numbering: earlier parts stay as they are
        self._decided = any(isinstance(r, DecisionRecord) for r in read_decisions(self.run_dir))
        self._status("running")
        self.last_rows_at = time.monotonic()
        self._thread.start()
        if self.source is not None:
            self._judge.start()
        return self

    def stop(self) -> None:
        """Stop sampling, write what is pending and judge the windows the samples cover (once)."""
        if self._stopping:
            return
        self._stopping = True
        self._sampler.stop()
        self._thread.join(timeout=self.target.timeout_s + 5.0)
        if self._judge.is_alive():
            self._judge.join(timeout=2 * (self.source.timeout_s if self.source else 1.0) + 1.0)
        try:
            with self._lock:
                self._write_part()
                # not beyond the data: silence after the end is no gap (Prometheus judges on its own)
                if self._last_ts is not None and self.source is None:
                    self._evaluate(self._last_ts + self.lateness_s)
        except Exception as exc:  # a writer that failed mid-run fails again here: kept, never raised
            self.error = self.error or exc
        with contextlib.suppress(OSError):  # the run folder itself is gone or full: nothing to say in it
            self._status("stopped" if self.error is None else f"failed: {self.error}")

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._sampler.run())
        except BaseException as exc:  # read by health(): a dead monitor stops the run
            self.error = exc
            self._status(f"failed: {exc}")

    def health(self) -> str | None:
        """``None`` while the monitor can see; otherwise why it cannot, in a few words."""
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        if self._stopping:
            return None
        if not self._thread.is_alive():
            return "the monitor thread ended"
        if self.source is not None and not self._judge.is_alive():
            return "the Prometheus judge thread ended"
        now = time.monotonic()
        if now - self._sampler.heartbeat > self.stall_limit_s:
            return f"the sampler has not sent a request for {now - self._sampler.heartbeat:.1f} s"
        if now - self.last_rows_at > self.stall_limit_s:
            return f"no sample landed for {now - self.last_rows_at:.1f} s (limit {self.stall_limit_s:.1f} s)"
        return None

    # -- per batch of rows ----------------------------------------------------------------
    def _on_rows(self, rows: list[Row]) -> None:
        with self._lock:
            self.last_rows_at = time.monotonic()
            self.samples += len(rows)
            newest = max(r.ts for r in rows)
            oldest = min(r.ts for r in rows)
            self._first_ts = oldest if self._first_ts is None else min(self._first_ts, oldest)
            self._last_ts = newest if self._last_ts is None else max(self._last_ts, newest)
            self._recent.extend(rows)
            self._part += rows
            if time.time() - self._part_started >= PART_S:
                self._write_part()
            if self.engine is None:
                self._baseline += rows
                events = read_events(self.run_dir)
                started, deployed = (
                    first_event(events, Event.DEPLOY_STARTED),
                    first_event(events, Event.DEPLOYED),
                )
                self.restart_from = (
                    None if started is None else started.at
                )  # the deploy's restart, not a fault
                self.deploy_at = None if deployed is None else deployed.at
                if self.deploy_at is None:
                    return
                self.engine = TriggerEngine(
                    self.plan,
                    self.deploy_at,
                    compress=self.compress,
                    lateness_s=self.lateness_s,
                    restart_at=self.restart_from,
                )
                self.engine.baseline_span_s = self.deploy_at - (self._first_ts or self.deploy_at)
                rows, self._baseline = self._baseline, []
                self._status("watching")
            if self.source is None:
                self.engine.feed(samples_frame(rows))
                self._evaluate(time.time())

    def _judge_source(self) -> None:
        """With a Prometheus source: every evaluation interval, read the evaluations Prometheus has
        scraped (outside the lock: a slow query never holds up the samples), then judge them."""
        assert self.source is not None
        try:
            while not self._stopping:
                time.sleep(min(1.0, self.plan.monitoring.interval_s / self.compress))
                engine = self.engine
                if engine is None:
                    continue
                measured = self.source.measure(engine, time.time() - self.source.lag_s - self.lateness_s)
                if measured is None:
                    continue
                self.blind = measured.blind
                with self._lock:
                    self._judged(self.source.apply(engine, measured))
        except BaseException as exc:  # read by health(): a judge that cannot judge stops the run
            self.error = exc
            self._status(f"failed: {exc}")

    def _evaluate(self, now: float) -> None:
        if self.engine is None:
            return
        self._judged(self.engine.advance(now))

    def _judged(self, firings: list[Firing]) -> None:
        """After an evaluation: status on a change, every firing recorded, the decision resolved."""
        assert self.engine is not None
        if [(t.id, t.state) for t in self.engine.states()] != self._said:  # the war room sees it at once
            self._status(self._state)
        for f in firings:
            fired = FiringRecord(**dict(f), recorded_at=time.time(), after_decision=self._decided)
            append_jsonl(RunFolder(self.run_dir).decisions_file, fired.model_dump(mode="json"))
            if self.on_firing is not None and not fired.after_decision:
                self.on_firing(fired)  # returns at once: deliveries run in threads of their own
        d = self.engine.decision()
        if d.decision == "rollback" and not self._decided:
            decided = self.confirmation.resolve(d)  # a confirm tier proposes and waits for its answer
            if decided is None:
                return
            self._decided = True
            append_jsonl(RunFolder(self.run_dir).decisions_file, decided.model_dump(mode="json"))
            if self.on_decision is not None:
                self.on_decision(decided)

    def _write_part(self) -> None:
        if not self._part:
            return
        self._parts += 1
        path = RunFolder(self.run_dir).samples_dir / f"part-{self._parts:05d}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        frame = samples_frame(self._part)
        frame.to_parquet(tmp, index=False)
        tmp.replace(path)
        self.written_until = max(self.written_until, float(frame["ts"].max()))
        self._part, self._part_started = [], time.time()
        self._status("watching" if self.engine is not None else "running")

    def _status(self, state: str) -> None:
        self._state = state
        triggers = [] if self.engine is None else self.engine.states()
        self._said = [(t.id, t.state) for t in triggers]
        status = MonitorStatus(
            state=state,
            target=self.target.base_url,
            rate=self.rate,
            compress=self.compress,
            deploy_at=self.deploy_at,
            samples=self.samples,
            written_until=self.written_until,
            updated=time.time(),
            pid=os.getpid(),
            triggers=triggers,
        )
        write_status(RunFolder(self.run_dir).monitor_file, status)

    # -- for the console ------------------------------------------------------------------
    def live(self, span_s: float = 2.0) -> LiveStatus:
        """The last ``span_s`` real seconds: requests so far, API p95, failure ratio, triggers."""
        with self._lock:
            now = time.time()
            recent = [r for r in self._recent if r.ts >= now - span_s - 0.5]
            engine = self.engine
            pending = [] if engine is None else engine.pending()
            fired = [] if engine is None else list(engine.fired)
        classes = self.plan.monitoring.endpoint_classes
        api = [
            r.latency_ms
            for r in recent
            if classes.get(r.endpoint) == "api" and r.status > 0 and not math.isnan(r.latency_ms)
        ]
        start, end = self.restart_from, self.deploy_at if self.deploy_at is not None else math.inf
        restart = [r for r in recent if start is not None and start <= r.ts < end]
        recent = [r for r in recent if not (start is not None and start <= r.ts < end)]
        failed = sum(1 for r in recent if r.status == 0 or r.status >= 500)
        launch = None if self.deploy_at is None else (now - self.deploy_at) * self.compress
        return LiveStatus(
            launch_s=launch,
            requests=self.samples,
            api_p95_ms=float(np.percentile(api, 95)) if len(api) >= 5 else None,
            failure_ratio=failed / len(recent) if recent else None,
            pending=pending,
            fired=fired,
            restart_failures=sum(1 for r in restart if r.status == 0 or r.status >= 500),
            blind=self.blind,
        )
