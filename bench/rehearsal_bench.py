"""A whole rehearsal against the floor of running notebooks at all, and the report's sizes.

Run: .venv/bin/python bench/rehearsal_bench.py [--scenario latency-spike]
1. floor: papermill.execute_notebook of a notebook with one empty cell, in this process, x3;
2. the rehearsal itself (launchlib.runner.rehearse.rehearse) with per-phase wall times;
3. the launch-clock time the phases must wait for (T-0 … T+1h compressed) is not overhead:
   overhead = total - waiting - phases x floor;
4. sizes of the HTML files and of the one plotly.min.js in the run folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from launchlib.runner.rehearse import rehearse


def floor(tmp: Path) -> float:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp / "empty.ipynb"
    nbformat.write(nb, src)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        pm.execute_notebook(str(src), str(tmp / "out.ipynb"), progress_bar=False)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="latency-spike")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        f = floor(tmp)
        print(f"floor: empty notebook through papermill.execute_notebook: {f:.2f} s")
        t = time.perf_counter()
        run_dir, m = rehearse(args.scenario, run_id="bench", reports=tmp / "reports")
        total = time.perf_counter() - t
        ran = [p for p in m.phases if p.started is not None]
        deploy = next((p for p in m.phases if p.phase == "T-0"), None)
        waiting = 0.0
        if deploy and deploy.started:
            ends = [p.finished for p in ran if p.phase.startswith("T+") and p.phase != "T+24h" and p.finished]
            last = max([deploy.finished or 0.0, *ends])
            waiting = last - deploy.started
        print(f"rehearsal {args.scenario}: {total:.1f} s, {len(ran)} notebooks, outcome {m.outcome}")
        print(f"  launch-clock waiting (T-0 until the last launch phase): {waiting:.1f} s")
        print(
            f"  phases x floor: {len(ran) * f:.1f} s; other overhead: {total - waiting - len(ran) * f:.1f} s"
        )
        html = sorted(run_dir.glob("*.html"))
        js = run_dir / "plotly.min.js"
        print(f"  plotly.min.js: {js.stat().st_size / 1e6:.2f} MB, once")
        for h in html:
            print(f"  {h.name}: {h.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
