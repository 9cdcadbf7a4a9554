"""A Prometheus the kit starts itself: scraping a rehearsal's target, on loopback, stopped by PID.

A rehearsal with ``--source prometheus`` and no ``--prometheus`` judges from this one, so the
decision comes from the same server-side telemetry a launch would read, scraped every
``monitoring.prometheus.scrape_interval_s``. Its TSDB lives in the run folder (``prometheus/``):
the raw telemetry stays with the run. The binary is Debian's ``prometheus`` (or ``$PROMETHEUS``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from launchlib.errors import TargetError

__all__ = ["PrometheusProcess", "prometheus_binary"]


def prometheus_binary() -> str:
    """The Prometheus server binary, or a TargetError saying how to get one."""
    found = shutil.which(os.environ.get("PROMETHEUS", "prometheus"))
    if found is None:
        raise TargetError(
            "--source prometheus: no prometheus binary (apt install prometheus, set $PROMETHEUS, "
            "or give --prometheus URL)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusProcess:
    """``prometheus`` scraping ``target_url``'s ``/metrics`` every ``scrape_s`` seconds."""

    def __init__(self, target_url: str, data_dir: Path, scrape_s: float = 1.0) -> None:
        self.target, self.data_dir, self.scrape_s = target_url, Path(data_dir), scrape_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        parts = urlsplit(self.target)
        interval = f"{max(1, round(self.scrape_s * 1000))}ms"
        cfg = self.data_dir / "prometheus.yml"
        cfg.write_text(
            f"global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n"
            "scrape_configs:\n  - job_name: launch-target\n"
            f"    scheme: {parts.scheme or 'http'}\n    static_configs:\n"
            f"      - targets: ['{parts.netloc}']\n",
            encoding="utf-8",
        )
        return cfg

    def start(self, timeout_s: float = 30.0) -> PrometheusProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "prometheus.log").open("wb")
        args = [
            prometheus_binary(),
            f"--config.file={self._config()}",
            f"--storage.tsdb.path={self.data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.data_dir / "pid").write_text(f"{self.proc.pid}\n", encoding="utf-8")  # who to stop, by hand
        (self.data_dir / "url").write_text(f"{self.url}\n", encoding="utf-8")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        tail = (self.data_dir / "prometheus.log").read_text(errors="replace")[-500:]
        raise TargetError(f"prometheus did not start within {timeout_s:g} s: {tail.strip()}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s); idempotent."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
