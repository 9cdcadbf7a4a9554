"""The pre-launch checks of the real world, each passing and failing on a local fixture: a git
repository with and without the tag, a TLS server on loopback with a long- and a short-lived
self-signed certificate, a name that resolves and one that cannot, free disk, a real Prometheus
with a target up and one down; and all of them used from a plan's phase."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import ROOT, free_port, require_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from launchlib.launch.checks import run_item_checks
from launchlib.launch.context import open_phase
from launchlib.plan.files import load_plan
from launchlib.probing import world

TAG = "v1.0-prod-ready"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    require_binary("git", "git")
    path = tmp_path / "service"
    path.mkdir()
    _git(path, "init", "-q")
    (path / "README").write_text("the service\n")
    _git(path, "add", "README")
    _git(path, "commit", "-q", "-m", "release")
    return path


def test_release_tag(repo: Path) -> None:
    missing = world.check_release_tag(str(repo), TAG)
    assert not missing.passed and f"tag {TAG} not found" in missing.detail
    _git(repo, "tag", "-a", TAG, "-m", "ready")  # annotated: the commit behind it is reported
    found = world.check_release_tag(str(repo), TAG)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout
    assert found.passed and found.data["commit"] == head.strip(), found.detail
    gone = world.check_release_tag(str(repo / "nope"), TAG)
    assert not gone.passed and "nope" in gone.detail
    unset = world.check_release_tag(None, TAG)
    assert not unset.passed and "environment.repository" in unset.detail


def test_a_repository_url_with_a_token_is_never_shown() -> None:
    url = "https://deploy:s3cr3t-token@127.0.0.1:1/service.git"
    res = world.check_release_tag(url, TAG, timeout_s=10)
    assert not res.passed and "s3cr3t" not in res.detail and "***@127.0.0.1:1" in res.detail


def test_dns() -> None:
    ok = world.check_dns(["localhost"])
    assert ok.passed and ("127.0.0.1" in ok.detail or "::1" in ok.detail), ok.detail
    bad = world.check_dns(["localhost", "launch-target.invalid"])  # .invalid never resolves (RFC 6761)
    assert not bad.passed and "launch-target.invalid" in bad.detail and "localhost" not in bad.detail
    assert not world.check_dns([]).passed


def _certificate(folder: Path, days: float) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost valid ``days`` from now, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"cert-{days}.pem", folder / f"key-{days}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[Callable[[float], tuple[int, Path]]]:
    """Start HTTPS servers on 127.0.0.1 with a certificate valid N days; all stopped after."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(days: float) -> tuple[int, Path]:
        cert, key = _certificate(tmp_path, days)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv.server_address[1], cert

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_tls_certificate(tls_server) -> None:
    port, ca = tls_server(90)
    ok = world.check_tls([("localhost", port)], min_days=14, ca_file=str(ca))
    assert ok.passed and 89 < ok.value < 90.1, ok.detail
    port, ca = tls_server(3)
    short = world.check_tls([("localhost", port)], min_days=14, ca_file=str(ca))
    assert not short.passed and 2.9 < short.value <= 3.0 and "more days (need 14)" in short.detail
    untrusted = world.check_tls([("localhost", port)], min_days=1)  # the system store: not trusted
    assert not untrusted.passed and "not trusted" in untrusted.detail, untrusted.detail
    closed = world.check_tls([("localhost", free_port())], min_days=1, ca_file=str(ca))
    assert not closed.passed and "ConnectionRefusedError" in closed.detail
    assert not world.check_tls([], min_days=1).passed


def test_free_disk(tmp_path: Path) -> None:
    assert world.check_free_disk({"run folder": tmp_path}, 0.001).passed
    full = world.check_free_disk({"run folder": tmp_path}, 10**9)
    assert not full.passed and "GB free (need 1e+09 GB)" in full.detail
    gone = world.check_free_disk({"data": tmp_path / "missing"}, 0.001)
    assert not gone.passed and "missing" in gone.detail


def _scraped(url: str, n: int) -> None:
    for _ in range(100):
        active = httpx.get(f"{url}/api/v1/targets").json()["data"]["activeTargets"]
        if len(active) == n and all(t["health"] != "unknown" for t in active):
            return
        time.sleep(0.1)
    raise AssertionError(f"prometheus never scraped: {active}")


def test_prometheus_targets(prometheus_factory, sim) -> None:
    up = prometheus_factory([sim.url.removeprefix("http://")])
    _scraped(up, 1)
    ok = world.check_prometheus_targets(up)
    assert ok.passed and ok.detail == "all 1 targets up"
    dead = f"127.0.0.1:{free_port()}"
    down = prometheus_factory([sim.url.removeprefix("http://"), dead])
    _scraped(down, 2)
    bad = world.check_prometheus_targets(down)
    assert not bad.passed and dead in bad.detail and "down" in bad.detail, bad.detail
    unreachable = world.check_prometheus_targets(f"http://127.0.0.1:{free_port()}")
    assert not unreachable.passed and "ConnectError" in unreachable.detail


def test_checks_from_a_plan_phase(repo: Path, tls_server, sim, tmp_path: Path) -> None:
    """A team names the checks on its items and sets ``environment:``; the phase runs them and the
    sign-off ledger records each, as for every other check."""
    _git(repo, "tag", TAG)
    port, ca = tls_server(30)
    data = yaml.safe_load((ROOT / "parameters" / "plan.yaml").read_text())
    data["environment"] = {
        "repository": str(repo),
        "hostnames": ["localhost"],
        "tls_endpoints": [f"localhost:{port}"],
        "tls_ca_file": str(ca),
        "min_free_disk_gb": 0.001,
    }
    names = ["release_tag", "dns", "tls_certificate", "disk_space", "prometheus_targets"]
    extra = [{"id": f"world_{n}", "text": n, "check": n, "owner": "devops_lead"} for n in names]
    data["phases"][0]["items"].extend(extra)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    plan = load_plan(tmp_path / "plan.yaml")
    items = [i for i in plan.phase("T-24h").items if i.id.startswith("world_")]
    ctx = open_phase(
        "T-24h", run_dir=str(tmp_path / "run"), plan_path=str(tmp_path / "plan.yaml"), target_url=sim.url
    )
    try:
        results = run_item_checks(ctx, items)
    finally:
        ctx.close()
    passed = {i: r.passed for i, r in results.items()}
    # no Prometheus given to the phase: that one is not checked, and so not green
    assert passed == {f"world_{n}": n != "prometheus_targets" for n in names}, results
    assert "not checked" in results["world_prometheus_targets"].detail
    recorded = {(e.item, e.state) for e in ctx.ledger.history()}
    assert {(f"world_{n}", "done" if n != "prometheus_targets" else "blocked") for n in names} <= recorded
