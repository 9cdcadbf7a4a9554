"""Sampler accuracy at the monitoring rate, and capacity against wrk on the same server.

Run: .venv/bin/python bench/sampler_bench.py [--seconds 60]
Starts `launchlib sim serve` in its own process on 127.0.0.1 (so client and server do not
share a GIL), then:
1. monitoring: six endpoints, 100 requests/s in all, for --seconds: achieved rate against the
   schedule, and the sampler's overhead = measured latency - the server's own timing (p50/p99);
2. capacity: the highest rate the sampler holds within 2 % of schedule (5-s steps), with its
   CPU share, then wrk's requests/s on the same server (/version, 2 threads, 32 connections).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from launchlib.probing.sampler import Endpoint, Sampler
from launchlib.probing.target import Target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).with_name("launchlib")
    proc = subprocess.Popen([str(cli), "sim", "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/version", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("simulator did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    port = free_port()
    proc = start_server(port)
    try:
        target = Target(f"http://127.0.0.1:{port}")
        run = asyncio.run(Sampler(target, 100.0, max_connections=16).run(args.seconds))
        df = run.frame()
        over = (df.latency_ms - df.server_ms).dropna()
        print(
            f"monitoring: {len(df)} requests scheduled over {args.seconds:g} s at 100/s; achieved "
            f"{run.achieved_rate:.2f}/s ({(run.achieved_rate / 100 - 1) * 100:+.2f} % of schedule), "
            f"max send lag {run.max_send_lag_ms:.1f} ms, client CPU {run.cpu_share:.0%}"
        )
        print(
            f"  sampler overhead (latency - server time): p50 {over.quantile(0.5):.2f} ms, "
            f"p99 {over.quantile(0.99):.2f} ms; status 0: {(df.status == 0).sum()}"
        )

        best = 0.0
        for rate in (200, 300, 400, 500, 600, 800, 1000):
            sampler = Sampler(target, float(rate), [Endpoint("/version")], max_connections=8)
            r = asyncio.run(sampler.run(5.0))
            completed = int((r.frame().status > 0).sum())
            held = abs(r.achieved_rate / rate - 1) <= 0.02 and completed >= 0.98 * r.scheduled
            p99 = r.frame().latency_ms.quantile(0.99)
            flag = " (client CPU over 70 %: latencies suspect)" if r.suspect else ""
            print(
                f"  capacity step {rate}/s: achieved {r.achieved_rate:.0f}/s, "
                f"answered {completed}/{r.scheduled}, "
                f"p99 {p99:.1f} ms, client CPU {r.cpu_share:.0%}{flag}"
            )
            if not held:
                break
            best = float(rate)
        wrk = shutil.which("wrk")
        if wrk:
            out = subprocess.run(
                [wrk, "-t2", "-c32", "-d5s", f"http://127.0.0.1:{port}/version"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            m = re.search(r"Requests/sec:\s+([\d.]+)", out)
            wrk_rps = float(m.group(1)) if m else float("nan")
            print(
                f"capacity: sampler holds {best:.0f}/s within 2 %; wrk {wrk_rps:.0f}/s on the same server "
                f"-> wrk / sampler = {wrk_rps / best if best else float('nan'):.1f}x"
            )
        else:
            print(f"capacity: sampler holds {best:.0f}/s within 2 %; wrk not installed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
