"""Green means checked: a target that does not answer, or answers as something else, passes nothing."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import scrapbook as sb
from conftest import LAUNCHLIB, ROOT, cli_env

from launchlib.probing import probes
from launchlib.probing.target import Target


class _Garbage(BaseHTTPRequestHandler):
    """Answers 200 'hello' to everything: a web server, but not the trading service."""

    def _answer(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def garbage() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ["dead", "garbage"])
def test_nothing_passes_against_a_target_that_is_not_the_service(
    tmp_path: Path, garbage: str, kind: str
) -> None:
    url = "http://127.0.0.1:1" if kind == "dead" else garbage
    proc = subprocess.run(
        [LAUNCHLIB, "run-phase", "T-24h", "--run-id", "day", "--target", url, "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "T-24h: failed" in proc.stdout
    result = sb.read_notebook(str(tmp_path / "day" / "T-24h.ipynb")).scraps["phase_result"].data
    checked = {i["item"]: i for i in result["items"] if i["check"]}
    assert set(checked) >= {
        "final_system_health_check",
        "backup_verification",
        "communication_channels_tested",
    }
    green = [i for i in checked.values() if i["satisfied"]]
    assert not green, green


def test_probes_refuse_answers_that_are_not_the_service(garbage: str) -> None:
    t = Target(garbage)
    for res in (probes.check_version(t, "v1"), probes.check_risk(t), probes.check_health(t)):
        assert not res.passed and ("not the service" in res.detail or "without JSON" in res.detail), res
    assert not probes.check_trading(t).passed  # 200 where an order is created (201) is refused
