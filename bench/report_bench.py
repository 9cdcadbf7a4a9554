"""The run report of a one-hour run: render time against reading the run folder, and size.

Run: .venv/bin/python bench/report_bench.py [RUN_DIR]   (default: rehearse ``clean`` first, 2.5 min)
The baseline is reading the run folder (manifest, samples, decisions, notebooks' results,
ledger) in this process; the report adds the charts and the page. Best of 3 each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from launchlib.report.run_data import load_run
from launchlib.report.run_report import report_page
from launchlib.runner.console import Console
from launchlib.runner.rehearse import rehearse


def _best(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            run_dir = Path(sys.argv[1])
        else:
            run_dir, _ = rehearse(
                "clean", run_id="clean", reports=Path(tmp), console=Console(echo=lambda s: None)
            )
        run = load_run(run_dir)
        report_page(run)  # warm: plotly's JavaScript and templates loaded once
        read_s = _best(lambda: load_run(run_dir))
        render_s = _best(lambda: report_page(load_run(run_dir)))
        size = len(report_page(run).encode())
        print(f"run {run_dir.name}: {len(run.samples):,} samples, {len(run.results)} phase results")
        print(f"read the run folder: {read_s:.2f} s")
        print(f"read + render report.html: {render_s:.2f} s (report / read = {render_s / read_s:.1f}x)")
        print(f"report.html: {size / 1e6:.2f} MB (plotly.js inline: 4.8 MB of it)")


if __name__ == "__main__":
    main()
