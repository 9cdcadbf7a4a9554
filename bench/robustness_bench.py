"""False rollbacks under load, and how fast each shipped fault is caught and recovered.

1. The clean rehearsal N times (default 10) while a CPU hog holds one core: how many rolled back
   (must be 0) and what fired.
2. Every shipped fault scenario once (with the hog too, unless ``--no-hog``): caught in its tier?
   and decision → rollback start → recovered, in launch seconds from the fault's onset.

Run: .venv/bin/python bench/robustness_bench.py [--clean-runs 10] [--no-hog] [--no-scenarios]
[--reports DIR] (the run folders are kept there, to read what fired; by default they are dropped)
(about 35 minutes; the clean runs alone about 26)
Figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from launchlib.runner.console import Console
from launchlib.runner.rehearse import rehearse
from launchlib.simulator.scenarios import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def cpu_hog() -> subprocess.Popen[bytes]:
    """A process holding one core (``while True: pass``), shared by the benches that measure beside it."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clean-runs", type=int, default=10)
    ap.add_argument("--no-hog", action="store_true")
    ap.add_argument("--scenarios", nargs="*", default=None)
    ap.add_argument("--no-scenarios", action="store_true", help="only the clean runs")
    ap.add_argument("--reports", type=Path, default=None, help="keep the run folders here")
    args = ap.parse_args()
    quiet = Console(echo=lambda s: None)
    hog = None if args.no_hog else cpu_hog()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            reports = args.reports.resolve() if args.reports else Path(tmp)
            rolled = []
            for i in range(args.clean_runs):
                t = time.perf_counter()
                _, m = rehearse("clean", run_id=f"clean-{i}", reports=reports, console=quiet)
                card = m.scorecard
                rolled.append(card is not None and card.rollback)
                fired = (card.triggers if card else None) or "-"
                print(
                    f"clean {i + 1:2d}/{args.clean_runs}: {m.outcome:24s} fired {fired} "
                    f"{time.perf_counter() - t:5.1f} s",
                    flush=True,
                )
            if args.clean_runs:
                print(f"clean rehearsals rolled back: {sum(rolled)} of {len(rolled)}", flush=True)
            shipped = sorted(p.stem for p in (ROOT / "parameters/scenarios").glob("*.yaml"))
            on_sim = [  # container faults need a compose project (tests/test_container_faults.py)
                n for n in shipped if not load_scenario(n, ROOT / "parameters/scenarios").container_faults()
            ]
            names = args.scenarios or [n for n in on_sim if n not in ("clean", "no-go")]
            if args.no_scenarios:
                return
            print(
                "| scenario | tier (expected) | caused by | decided | rollback start | recovered "
                "| deadline | as expected |\n|---|---|---|---|---|---|---|---|"
            )
            for name in names:
                sc = load_scenario(name, ROOT / "parameters/scenarios")
                _, m = rehearse(name, run_id=name, reports=reports, console=quiet)
                c = m.scorecard
                assert c is not None, m.outcome
                ok = "yes" if c.as_expected else "NO: " + "; ".join(c.mismatches)
                print(
                    f"| {name} | {c.tier} ({sc.expect.tier}) | {', '.join(c.triggers)} | "
                    f"{c.time_to_decide_s} | {c.time_to_rollback_start_s} | {c.time_to_recover_s} | "
                    f"{c.deadline_s} | {ok} |",
                    flush=True,
                )
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
