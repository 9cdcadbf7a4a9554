"""Checks of the real world before launch: the release tag, DNS, TLS certificates, free disk,
Prometheus's targets.

Like the HTTP probes, each returns a :class:`CheckResult` and never raises for a world problem:
an unreachable repository, a name that does not resolve or an untrusted certificate is a failed
check that says which and why. Nothing here is judged green without having been looked at: a
check with nothing configured to look at fails and names the setting.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from launchlib.probing.probes import CheckResult

__all__ = [
    "check_dns",
    "check_free_disk",
    "check_prometheus_targets",
    "check_release_tag",
    "check_tls",
    "shown_url",
]

GB = 1024**3


def shown_url(url: str) -> str:
    """A repository URL as it may be shown: any user or token in it replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def check_release_tag(repository: str | None, tag: str, timeout_s: float = 20.0) -> CheckResult:
    """The tag exists in the repository (a path or any URL git reaches), with the commit it names."""
    if not repository:
        return CheckResult("release_tag", False, "not checked: environment.repository is not set")
    where = shown_url(repository)
    try:
        proc = subprocess.run(
            ["git", "ls-remote", "--tags", repository, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # never wait for a password
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = f"{type(exc).__name__}: {exc}".replace(repository, where)
        return CheckResult("release_tag", False, f"{where}: {reason}")
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"git exited {proc.returncode}"])[-1]
        return CheckResult("release_tag", False, f"{where}: {reason.replace(repository, where)}")
    refs: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            refs[ref] = sha
    commit = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    if commit is None:
        return CheckResult("release_tag", False, f"tag {tag} not found in {where}")
    return CheckResult("release_tag", True, f"tag {tag} → {commit[:12]} in {where}", data={"commit": commit})


def _resolve(name: str) -> list[str]:
    return sorted({str(a[4][0]) for a in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)})


def check_dns(hostnames: Sequence[str], timeout_s: float = 5.0) -> CheckResult:
    """Every name resolves (through the system resolver, as the service's clients will), in time."""
    names = list(dict.fromkeys(h for h in hostnames if h))
    if not names:
        return CheckResult("dns", False, "not checked: no hostnames (environment.hostnames)")
    found: dict[str, list[str]] = {}
    bad: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        futures = {n: pool.submit(_resolve, n) for n in names}
        deadline = time.monotonic() + timeout_s
        for name, fut in futures.items():
            try:
                found[name] = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except concurrent.futures.TimeoutError:
                bad.append(f"{name}: no answer in {timeout_s:g} s")
            except OSError as exc:
                bad.append(f"{name}: {exc.strerror or exc}")
    detail = "; ".join(bad) if bad else ", ".join(f"{n} → {' '.join(a[:2])}" for n, a in found.items())
    return CheckResult("dns", not bad, detail, data={"resolved": found})


def _certificate_days(host: str, port: int, ca_file: str | None, timeout_s: float) -> float:
    ctx = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection((host, port), timeout=timeout_s) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):
        raise ssl.SSLError(f"{host}:{port} sent no certificate expiry")
    return (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400.0


def check_tls(
    endpoints: Sequence[tuple[str, int]], min_days: int, ca_file: str | None = None, timeout_s: float = 5.0
) -> CheckResult:
    """Each endpoint's certificate is trusted, names its host, and stays valid ``min_days`` more."""
    if not endpoints:
        return CheckResult(
            "tls_certificate", False, "not checked: no https target and no environment.tls_endpoints"
        )
    bad: list[str] = []
    good: list[str] = []
    days: dict[str, float] = {}
    for host, port in endpoints:
        where = f"{host}:{port}"
        try:
            left = _certificate_days(host, port, ca_file, timeout_s)
        except ssl.SSLCertVerificationError as exc:
            bad.append(f"{where}: not trusted ({exc.verify_message})")
            continue
        except (OSError, ssl.SSLError) as exc:
            bad.append(f"{where}: {type(exc).__name__}: {exc}")
            continue
        days[where] = round(left, 1)
        (good if left >= min_days else bad).append(f"{where}: valid {left:.1f} more days (need {min_days})")
    detail = "; ".join(bad + good)
    return CheckResult("tls_certificate", not bad, detail, value=min(days.values(), default=None), data=days)


def check_free_disk(paths: Mapping[str, str | Path], min_free_gb: float) -> CheckResult:
    """Free space on each filesystem (``label → path``) is at least ``min_free_gb``."""
    if not paths:
        return CheckResult("disk_space", False, "not checked: no paths")
    bad: list[str] = []
    good: list[str] = []
    free: dict[str, float] = {}
    for label, path in paths.items():
        try:
            gb = shutil.disk_usage(path).free / GB
        except OSError as exc:
            bad.append(f"{label} {path}: {exc.strerror or exc}")
            continue
        free[label] = round(gb, 2)
        (good if gb >= min_free_gb else bad).append(f"{label} {path}: {gb:.1f} GB free")
    detail = "; ".join(bad + good) + f" (need {min_free_gb:g} GB)"
    return CheckResult("disk_space", not bad, detail, value=min(free.values(), default=None), data=free)


def check_prometheus_targets(url: str | None, timeout_s: float = 5.0) -> CheckResult:
    """Prometheus answers and every active scrape target's last scrape succeeded."""
    if not url:
        return CheckResult("prometheus_targets", False, "not checked: no Prometheus (--prometheus)")
    try:
        r = httpx.get(f"{url.rstrip('/')}/api/v1/targets", params={"state": "active"}, timeout=timeout_s)
        r.raise_for_status()
        active = r.json()["data"]["activeTargets"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return CheckResult("prometheus_targets", False, f"{url}/api/v1/targets: {type(exc).__name__}: {exc}")
    if not active:
        return CheckResult("prometheus_targets", False, f"{url}: no scrape targets")
    down = [
        f"{t.get('scrapeUrl')} {t.get('health')}" + (f" ({t['lastError']})" if t.get("lastError") else "")
        for t in active
        if t.get("health") != "up"
    ]
    detail = ("down: " + "; ".join(down)) if down else f"all {len(active)} targets up"
    counts = {"targets": len(active), "down": len(down)}
    return CheckResult("prometheus_targets", not down, detail, data=counts)
