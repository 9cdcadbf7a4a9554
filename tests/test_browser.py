"""The sign-off checklist in a real browser: JupyterLab on 127.0.0.1, headless Chromium via Playwright.

The T-1h notebook runs standalone (embedded simulator), shows the go/no-go checklist; the test
ticks a manual item, is refused on an automated item without a reason, waives it with one, and
checks each step against the ledger file and the gate banner. Screenshots land in the run folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import papermill
import psutil
import pytest
from conftest import LAUNCHLIB, ROOT, free_port, require_binary

pytestmark = [pytest.mark.timeout(420), pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
NOTEBOOK = "T-1h.ipynb"


@dataclass
class Lab:
    url: str
    root: Path
    run_dir: Path
    log: Path


def _lab_env(home: Path) -> dict[str, str]:
    """A JupyterLab that sees nothing of the user's: own config, runtime, settings and workspaces."""
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONWARNINGS="ignore",
    )
    return env


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab on a free loopback port, no token, a temporary root holding the T-1h notebook."""
    root, run_dir = tmp_path / "root", tmp_path / "run"
    root.mkdir()
    papermill.execute_notebook(
        str(ROOT / "notebooks" / NOTEBOOK),
        str(root / NOTEBOOK),
        parameters={"run_dir": str(run_dir), "compress": 600.0},
        prepare_only=True,
        progress_bar=False,
    )
    port, log = free_port(), tmp_path / "jupyterlab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("jupyter-lab")),
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.token=",
                "--ServerApp.password=",
                f"--ServerApp.root_dir={root}",
                "--allow-root",
            ],
            cwd=root,
            env=_lab_env(tmp_path / "jupyter"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/api/status", proc, log)
        yield Lab(url, root, run_dir, log)
    finally:
        _stop_tree(proc)


def _stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """Stop JupyterLab and the kernels it started (by PID, never by name)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    _gone, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()


def _run_all_until(page, panel, selector: str, *, attempts: int = 3, wait_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Run all cells until ``selector`` shows, retrying (bounded) when an execution was dropped.

    On a fresh kernel JupyterLab has been seen to drop the first execution request even after
    the kernel showed idle; a run that ends without the widget and without an error is retried.
    """
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    for _ in range(attempts):
        _wait_kernel_idle(panel)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
        started = time.monotonic()
        while time.monotonic() - started < wait_s:
            if panel.locator(selector).count():
                return
            errors = panel.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
            if any("Traceback" in e or "Error" in e for e in errors):
                raise AssertionError("notebook failed in the browser:\n" + "\n".join(errors)[-3000:])
            busy = panel.locator(".jp-InputArea-prompt", has_text="[*]").count()
            if (
                time.monotonic() - started > 5
                and not busy
                and indicator.get_attribute("data-status") == "idle"
            ):
                break  # finished (or never started) without the widget: run again
            time.sleep(0.5)
    raise AssertionError(f"{selector} did not appear after {attempts} runs of all cells")


def _wait_kernel_idle(panel, timeout_s: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    indicator, name = (
        panel.locator(".jp-Notebook-ExecutionIndicator"),
        panel.locator(".jp-Toolbar-kernelName"),
    )
    while time.monotonic() < deadline:
        if indicator.get_attribute("data-status") == "idle" and "No Kernel" not in name.inner_text():
            return
        time.sleep(0.3)
    raise AssertionError("the notebook's kernel did not become idle")


def _open_count(banner_text: str) -> int:
    m = re.search(r"NO-GO — go/no-go: (\d+) open", banner_text)
    assert m, banner_text
    return int(m.group(1))


def test_checklist_in_jupyterlab_writes_the_ledger_and_moves_the_gate(lab: Lab) -> None:
    require_binary(CHROMIUM, "chromium")
    from playwright.sync_api import expect, sync_playwright

    from launchlib import Ledger, load_plan
    from launchlib.signoff.ledger import SignState, Source
    from launchlib.signoff.rules import COMMANDER
    from launchlib.signoff.widgets import item_class

    plan = load_plan(ROOT / "parameters" / "plan.yaml")
    commander = plan.role(COMMANDER).name
    manual, automated = "team_briefing_and_role_assignment", "final_system_health_check"

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?reset")
            panel = page.locator(".jp-NotebookPanel:visible")
            panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
            _run_all_until(page, panel, ".launchlib-checklist")

            checklist = panel.locator(".launchlib-checklist")
            banner = checklist.locator(".launchlib-gate")
            expect(banner).to_have_class(re.compile("launchlib-gate-nogo"))
            before = _open_count(banner.inner_text())
            banner.scroll_into_view_if_needed()
            page.screenshot(path=str(lab.run_dir / "browser-before.png"))

            # A manual item ticked as the Launch Commander: one ledger row, one fewer open item.
            checklist.locator(f".{item_class('T-24h', manual)} input[type=checkbox]").check()
            expect(banner).to_contain_text(f"{before - 1} open", timeout=15_000)
            expect(checklist).to_contain_text(f"recorded: T-24h/{manual} done by {commander}")

            # An automated item cannot be ticked by hand: refused, the box springs back.
            auto_box = checklist.locator(f".{item_class('T-24h', automated)} input[type=checkbox]")
            auto_box.click()
            expect(checklist).to_contain_text(
                f"refused: T-24h/{automated}: a waiver needs a reason", timeout=15_000
            )
            expect(auto_box).not_to_be_checked()
            expect(banner).to_contain_text(f"{before - 1} open")

            # ...but waived with a reason typed beside it, it is.
            row = checklist.locator(".widget-hbox", has=page.locator(f".{item_class('T-24h', automated)}"))
            row.locator("input[type=text]").fill("health verified on the staging dashboard")
            auto_box.click()
            expect(banner).to_contain_text(f"{before - 2} open", timeout=15_000)
            expect(auto_box).to_be_checked()
            banner.scroll_into_view_if_needed()
            page.screenshot(path=str(lab.run_dir / "browser-after.png"))
        finally:
            browser.close()

    ledger = Ledger.in_run(lab.run_dir)
    [ticked] = [e for e in ledger.history("T-24h", manual) if e.source == Source.PERSON]
    assert (ticked.state, ticked.person, ticked.role) == (SignState.DONE, commander, COMMANDER)
    waived = [e for e in ledger.history("T-24h", automated) if e.source == Source.PERSON]
    assert [(e.state, e.comment) for e in waived] == [
        (SignState.WAIVED, "health verified on the staging dashboard")
    ]
    for shot in ("browser-before.png", "browser-after.png"):
        assert (lab.run_dir / shot).stat().st_size > 10_000
    print(f"screenshots: {lab.run_dir}")


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)


_AS_DEVOPS = ("--role", "devops_lead", "--by", "Ops On Call", "--reports")


def test_signoff_page_in_voila_shows_no_code_and_enforces_roles(tmp_path: Path) -> None:
    require_binary(CHROMIUM, "chromium")
    from playwright.sync_api import expect, sync_playwright

    from launchlib import Ledger, load_plan
    from launchlib.runfolder.folder import create_run
    from launchlib.signoff.ledger import SignState
    from launchlib.signoff.widgets import item_class

    plan = load_plan(ROOT / "parameters" / "plan.yaml")
    trader = plan.role("trading_lead")
    reports = tmp_path / "reports"
    run_dir = create_run(reports, "page-test")
    Ledger.in_run(run_dir)
    port, log = free_port(), tmp_path / "voila.log"
    env = _lab_env(tmp_path / "jupyter")
    cmd = [LAUNCHLIB, "signoff", "page", "page-test", "--phase", "T+24h", "--reports", str(reports)]
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}/"
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    try:
        # any answer from a path that is not the page: requesting the page itself starts a kernel
        _wait_http(url + "launchlib-readiness-probe", proc, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                page.goto(url)
                checklist = page.locator(".launchlib-checklist")
                checklist.wait_for(timeout=90_000)
                assert "run_checklist" not in page.content()  # Voilà shows the widgets, not the code
                banner = checklist.locator(".launchlib-gate")
                expect(banner).to_contain_text("NO-GO — T+24h sign-off: 5 open")

                checklist.locator("select").select_option(label=trader.title)
                expect(checklist.locator("input[type=text]").first).to_have_value(trader.name)
                own = checklist.locator(f".{item_class('T+24h', 'trading_performance_review')} input")
                own.check()
                expect(banner).to_contain_text("4 open", timeout=15_000)
                other = checklist.locator(f".{item_class('T+24h', 'security_assessment')} input")
                other.click()
                expect(checklist).to_contain_text(
                    "security_assessment is owned by security_officer; trading_lead may not sign it"
                )
                expect(other).not_to_be_checked()

                # Someone else signs from the CLI meanwhile; Refresh re-reads the ledger.
                item = ["page-test", "T+24h", "performance_analysis"]
                signed = subprocess.run(
                    [LAUNCHLIB, "signoff", *item, *_AS_DEVOPS, str(reports)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                assert signed.returncode == 0, signed.stderr
                checklist.locator(".launchlib-refresh").click()
                expect(banner).to_contain_text("3 open", timeout=15_000)
                page.screenshot(path=str(run_dir / "voila-page.png"), full_page=True)
            finally:
                browser.close()
    finally:
        _stop_tree(proc)

    events = Ledger.in_run(run_dir).history("T+24h")
    assert [(e.item, e.state, e.person, e.role) for e in events] == [
        ("trading_performance_review", SignState.DONE, trader.name, "trading_lead"),
        ("performance_analysis", SignState.DONE, "Ops On Call", "devops_lead"),
    ]
    assert (run_dir / "voila-page.png").stat().st_size > 10_000
