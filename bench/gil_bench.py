"""What a busy thread in the runner's process does to the latency the monitor measures.

A rehearsal's runner hosts, in one interpreter, the monitor's sampler, the embedded simulator and
its own work between notebooks (HTML exports, pandas). Each of those threads needs the GIL for
every request; with Python's default switch interval (5 ms) a CPU-bound thread holds it that long
at each hand-off. This samples the in-process simulator at 100 requests/s for 15 s while a
pure-Python thread spins and a CPU hog holds one core, once with the default interval
(the baseline) and once with the sampler's ``SWITCH_INTERVAL_S``, in the same process, and
compares what the client saw with what the service reports it took (``server_ms``).

Run: .venv/bin/python bench/gil_bench.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import numpy as np

from launchlib.probing import sampler
from launchlib.probing.target import Target
from launchlib.simulator.app import SimConfig
from launchlib.simulator.server import SimServer

SECONDS = 15.0


def measure(url: str, interval: float) -> dict[str, float]:
    sampler.SWITCH_INTERVAL_S = interval
    sys.setswitchinterval(interval)
    run = asyncio.run(sampler.Sampler(Target(url), 100.0).run(SECONDS))
    rows = np.array([(r[2], r[5]) for r in run.rows if r[3] > 0], dtype=float)
    lat, served = rows.T
    gap = lat - np.nan_to_num(served)
    return {
        "answered": len(rows) / run.scheduled,
        "client_p95": float(np.percentile(lat, 95)),
        "server_p95": float(np.nanpercentile(served, 95)),
        "gap_p95": float(np.percentile(gap, 95)),
        "gap_p99": float(np.percentile(gap, 99)),
    }


def main() -> None:
    chosen = sampler.SWITCH_INTERVAL_S
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(i * i for i in range(20_000))

    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    busy = threading.Thread(target=spin, daemon=True)
    try:
        with SimServer(config=SimConfig(restart_s=0.05)) as srv:
            busy.start()
            base = measure(srv.url, 0.005)
            now = measure(srv.url, chosen)
    finally:
        stop.set()
        hog.kill()
        hog.wait()
    print(f"{'':24s}{'answered':>10s}{'client p95':>12s}{'server p95':>12s}{'gap p95':>10s}{'gap p99':>10s}")
    for name, r in (("switch interval 5 ms", base), (f"switch interval {chosen * 1000:g} ms", now)):
        print(
            f"{name:24s}{r['answered']:>9.1%} {r['client_p95']:>10.0f}ms {r['server_p95']:>10.0f}ms"
            f"{r['gap_p95']:>8.0f}ms{r['gap_p99']:>8.0f}ms"
        )
    print(f"client-side delay (gap p95): {base['gap_p95'] / now['gap_p95']:.0f}x smaller")


if __name__ == "__main__":
    main()
