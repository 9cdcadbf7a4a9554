"""Decision → rollback started, in real seconds, over N rehearsals beside a CPU hog.

The moment a decision lands (the monitor writes it to ``decisions.jsonl``: ``recorded_at``) to the
rollback notebook's ``rollback_started`` event; also from the evaluation that decided
(``decided_at``: the monitor judges ``monitoring.lateness_s`` behind the clock, for late samples),
and when the phase it stopped had wound down (its notebook's end).

Run: .venv/bin/python bench/handover_bench.py [--runs 10] [--scenario outage] [--no-hog]
(about 80 s per rehearsal). Figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from robustness_bench import cpu_hog  # bench/ is the script's own folder

from launchlib.runfolder.events import Event, first_event, read_events
from launchlib.runfolder.records import DecisionRecord, read_decisions
from launchlib.runner.console import Console
from launchlib.runner.rehearse import rehearse


def handover(run_dir: Path) -> dict[str, float | str]:
    """One run's hand-over, real seconds, from its run folder."""
    d = next(r for r in read_decisions(run_dir) if isinstance(r, DecisionRecord))
    events = read_events(run_dir)
    started = first_event(events, Event.ROLLBACK_STARTED)
    assert started is not None, f"{run_dir}: no rollback_started"
    stopped = next((e for e in events if e.event == Event.INTERRUPT.value), None)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    phases = [p for p in manifest["phases"] if p["phase"] != "rollback" and p.get("status") != "skipped"]
    wound = stopped.phase if stopped is not None else phases[-1]["phase"]
    nb_end = (run_dir / f"{wound}.ipynb").stat().st_mtime
    return {
        "landed": started.at - d.recorded_at,
        "decided": started.at - d.decided_at,
        "phase_ended": nb_end - d.recorded_at,
        "phase": f"{wound}{' (interrupted)' if stopped else ''}",
    }


def _q(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))]  # nearest rank


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scenario", default="outage")
    ap.add_argument("--no-hog", action="store_true")
    args = ap.parse_args()
    quiet = Console(echo=lambda s: None)
    hog = None if args.no_hog else cpu_hog()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.runs):
                t = time.perf_counter()
                run_id = f"{args.scenario}-{i}"
                run_dir, m = rehearse(args.scenario, run_id=run_id, reports=Path(tmp), console=quiet)
                h = handover(run_dir)
                rows.append(h)
                ok = m.scorecard is not None and m.scorecard.as_expected
                print(
                    f"run {i + 1:2d}/{args.runs}: landed → rollback started {h['landed']:.3f} s, "
                    f"decided → started {h['decided']:.3f} s, {h['phase']} ended "
                    f"{h['phase_ended']:+.3f} s; {m.outcome}, as expected: {ok} "
                    f"({time.perf_counter() - t:.0f} s)",
                    flush=True,
                )
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    for key in ("landed", "decided", "phase_ended"):
        xs = [float(r[key]) for r in rows]
        print(
            f"{key:12s} p50 {statistics.median(xs):.3f} s  p95 {_q(xs, 0.95):.3f} s  max {max(xs):.3f} s"
            f"  (n={len(xs)}, hog: {not args.no_hog})"
        )


if __name__ == "__main__":
    main()
