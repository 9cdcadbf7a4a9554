"""The war room's screen in a real browser: ``launchlib rehearse --warroom`` serves the live page
(Voilà on 127.0.0.1), headless Chromium watches it change as the rehearsal runs — a trigger goes
quiet → pending → fired, the banner shows the decision, the charts grow — and the page of the
finished run (``launchlib warroom RUN``) shows the same end state."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import LAUNCHLIB, copy_project, free_port, person_env, require_binary, wait_until
from test_browser import CHROMIUM, _stop_tree, _wait_http

pytestmark = [pytest.mark.scenario, pytest.mark.timeout(900)]

TRIGGER = "performance_degradation"  # latency-spike's first cause, on the immediate tier


@contextmanager
def _chromium(viewport: dict[str, int]) -> Iterator[Any]:
    """A page of headless Chromium (the system's, never a download), closed after."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser.new_page(viewport=viewport)
        finally:
            browser.close()


def _serve_page(root: Path, run: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``launchlib warroom RUN`` from the project root, its output to ``log``; the test stops it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [LAUNCHLIB, "warroom", run, "--port", str(port)],
            cwd=root,
            env=person_env(),
            stdout=out,
            stderr=out,
        )


def _samples(page) -> int:  # type: ignore[no-untyped-def]
    text = page.locator(".launchlib-samples").inner_text()
    return int(re.match(r"(\d+) samples", text).group(1))  # type: ignore[union-attr]


def _lines(proc: subprocess.Popen[str], into: list[str]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            into.append(line.rstrip("\n"))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def test_the_war_room_follows_a_rehearsal_and_shows_the_finished_run(tmp_path: Path) -> None:
    require_binary(CHROMIUM, "chromium")
    from playwright.sync_api import expect

    root = copy_project(tmp_path / "project")
    port, lines = free_port(), []
    cmd = [
        LAUNCHLIB,
        "rehearse",
        "--warroom",
        "--warroom-port",
        str(port),
        "--compress",
        "5",
        "--run-id",
        "live",
    ]
    proc = subprocess.Popen(
        cmd, cwd=root, env=person_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    reader = _lines(proc, lines)
    url = f"http://127.0.0.1:{port}/"
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        wait_until(lambda: any(line.startswith(f"war room: {url}") for line in lines), 60, "the war room URL")
        _wait_http(url + "launchlib-readiness-probe", proc, tmp_path / "none.log")  # type: ignore[arg-type]
        with _chromium({"width": 1500, "height": 1100}) as page:
            page.goto(url)
            room = page.locator(".launchlib-warroom")
            room.wait_for(timeout=120_000)
            assert "war_room(" not in page.content()  # Voilà shows the page, not its code
            state = room.locator(f".launchlib-trigger-{TRIGGER} .state")
            expect(state).to_have_text("quiet", timeout=120_000)
            first = _samples(page)
            expect(state).to_contain_text("pending: held", timeout=180_000)
            page.screenshot(path=str(shots / "pending.png"), full_page=True)
            expect(state).to_contain_text("fired at T+", timeout=60_000)
            banner = room.locator(".launchlib-banner")
            expect(banner).to_have_attribute("data-level", "decided", timeout=60_000)
            expect(banner).to_contain_text("DECISION at T+")
            expect(banner).to_contain_text(TRIGGER)
            assert _samples(page) > first  # the charts grew
            assert room.locator(".js-plotly-plot").count() == 2  # latency and failure ratio
            page.screenshot(path=str(shots / "decided.png"), full_page=True)
        assert proc.wait(timeout=600) == 0, "\n".join(lines[-40:])
    finally:
        if proc.poll() is None:
            _stop_tree(proc)  # type: ignore[arg-type]
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "war room page stopped" in lines, lines[-10:]
    run_dir = root / "reports" / "live"

    # the finished run: the same end state, the outcome in the banner
    port2 = free_port()
    again = _serve_page(root, "live", port2, tmp_path / "voila.log")
    try:
        _wait_http(f"http://127.0.0.1:{port2}/launchlib-readiness-probe", again, tmp_path / "voila.log")
        with _chromium({"width": 1500, "height": 1100}) as page:
            page.goto(f"http://127.0.0.1:{port2}/")
            banner = page.locator(".launchlib-banner[data-level=decided]")
            banner.wait_for(timeout=120_000)
            expect(banner).to_contain_text("rolled back")
            expect(page.locator(f".launchlib-trigger-{TRIGGER} .state")).to_contain_text("fired at T+")
            page.screenshot(path=str(run_dir / "warroom.png"), full_page=True)
    finally:
        _stop_tree(again)
    assert (run_dir / "warroom.png").stat().st_size > 20_000


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_commander_answers_a_proposed_rollback_on_the_page(tmp_path: Path) -> None:
    """A proposal waits on the page: a role the plan does not name is refused there and nothing is
    written; the Launch Commander accepts, and the decision ledger says who, when and why."""
    require_binary(CHROMIUM, "chromium")
    from playwright.sync_api import expect

    from launchlib.launch.confirm import Confirmation
    from launchlib.plan.files import load_plan
    from launchlib.plan.model import Tier
    from launchlib.runfolder.events import Event, record_event
    from launchlib.runfolder.folder import Manifest, create_run, write_manifest
    from launchlib.runfolder.records import AnswerRecord, Decision, Evidence, Firing, read_decisions

    root = copy_project(tmp_path / "project")
    plan = load_plan(root / "parameters/plan.yaml")
    run = create_run(root / "reports", "asking")
    (run / "plan.yaml").write_text((root / "parameters/plan.yaml").read_text())
    write_manifest(
        run,
        Manifest(
            run_id="asking", target="http://127.0.0.1:1", plan_hash="x", compress=1.0, started=time.time()
        ),
    )
    record_event(run, Event.DEPLOYED, release="v1.0-prod-ready")
    ev = Evidence(
        value=90.0, op=">", threshold=60.0, window_start=0, window_end=1, samples=0, first_true=0, unit="s"
    )
    gap = Firing(id="monitoring_gap", tier=Tier.CONTROLLED, first_at=time.time(), evidence=ev)
    Confirmation(plan, run).resolve(
        Decision(decision="rollback", tier=Tier.CONTROLLED, decided_at=time.time(), triggers=[gap])
    )
    port, log = free_port(), tmp_path / "voila.log"
    proc = _serve_page(root, "asking", port, log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/launchlib-readiness-probe", proc, log)
        with _chromium({"width": 1400, "height": 1000}) as page:
            page.goto(f"http://127.0.0.1:{port}/")
            banner = page.locator(".launchlib-banner[data-level=proposed]")
            banner.wait_for(timeout=120_000)
            expect(banner).to_contain_text("monitoring_gap")
            decide = page.locator(".launchlib-decide")
            expect(decide.locator("select")).to_have_value("Launch Commander")
            decide.locator("input[type=text]").first.fill(" ")
            decide.get_by_role("button", name="Accept rollback").click()
            expect(page.locator(".launchlib-refused")).to_contain_text("--by: your name is required")
            assert not [r for r in read_decisions(run) if isinstance(r, AnswerRecord)]
            decide.locator("input[type=text]").first.fill("Ana Ruiz")
            decide.locator("input[type=text]").nth(1).fill("the gap hides the trading metrics")
            decide.get_by_role("button", name="Accept rollback").click()
            expect(page.locator(".launchlib-answered")).to_contain_text(
                "accepted by Ana Ruiz (launch_commander)"
            )
            page.screenshot(path=str(run / "warroom-answer.png"), full_page=True)
    finally:
        _stop_tree(proc)
    [ans] = [r for r in read_decisions(run) if isinstance(r, AnswerRecord)]
    assert (ans.answer, ans.by, ans.role, ans.reason) == (
        "accept",
        "Ana Ruiz",
        "launch_commander",
        "the gap hides the trading metrics",
    )
