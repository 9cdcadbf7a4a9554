"""The run report, phase pages, index and post-launch analysis, on real rehearsals, and in a browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import LAUNCHLIB, ROOT, Rehearsed, cli_env, require_binary

from launchlib.report.index import write_index
from launchlib.report.run_data import RunData, load_run

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture()
def runs(readme_run: Rehearsed) -> dict[str, Path]:
    """The session's README run (latency-spike, rolled back): what tier 1 reads."""
    assert not any(line.startswith("warning:") for line in readme_run.lines), readme_run.lines
    return {"latency-spike": readme_run.run_dir}


@pytest.fixture()
def three_runs(readme_run: Rehearsed, rehearsed) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Two rollbacks and a clean launch (T-0 … T+1h): the scenario tier's."""
    out = {"latency-spike": readme_run.run_dir}
    for scenario in ("clean", "outage"):
        run = rehearsed(scenario)
        assert run.manifest.scorecard and run.manifest.scorecard.as_expected, (
            run.manifest.scorecard,
            run.lines,
        )
        assert not any(line.startswith("warning:") for line in run.lines), run.lines
        out[scenario] = run.run_dir
    return out


@pytest.mark.slow
def test_the_report_leads_with_the_outcome_and_opens_offline(runs: dict[str, Path]) -> None:
    page = (runs["latency-spike"] / "report.html").read_text(encoding="utf-8")
    assert len(page.encode()) < 6_000_000
    assert page.count("Plotly.newPlot") == 4  # latency, failure ratio, phase timeline, sign-offs
    assert not re.search(r"<script[^>]+src=", page), "the report loads nothing from elsewhere"
    assert page.count("plotly.js v") == 1  # plotly.js inside it, once
    summary = page[page.index("<h2>Summary") : page.index("<h2>On the launch clock")]
    assert "Detected " in summary and "inside the immediate tier" in summary and "As expected." in summary
    assert "DECISION at T+" in summary and "performance_degradation" in summary
    for section in (
        "Phases and checklists",
        "Rollback and its verification",
        "Communication log",
        "Sign-off audit trail",
    ):
        assert f"<h2>{section}</h2>" in page
    assert "could not be shown" not in page
    assert "href='T-0.html'" in page and "Running release is prod-rollback" in page


@pytest.mark.scenario
def test_the_report_of_a_clean_launch_says_no_rollback(three_runs: dict[str, Path]) -> None:
    clean = (three_runs["clean"] / "report.html").read_text(encoding="utf-8")
    assert "No rollback trigger fired; the launch went ahead." in clean and "<p>No rollback.</p>" in clean


@pytest.mark.slow
def test_phase_pages_hide_code_and_show_the_checklist_as_a_table(runs: dict[str, Path], plan) -> None:  # type: ignore[no-untyped-def]
    page = (runs["latency-spike"] / "T-24h.html").read_text(encoding="utf-8")
    assert "ll.open_phase" not in page and "notebook_parameters" not in page  # papermill's report mode
    table = page[page.index("launchlib-checklist-table") :]
    for item in plan.phase("T-24h").items:
        assert html.escape(item.text) in table
    assert "GO (" in table or "NO-GO (" in table
    assert "VBox(children" not in page  # the widget's Python repr is no part of the page


@pytest.mark.slow
def test_charts_run_on_the_launch_clock(runs: dict[str, Path]) -> None:
    from launchlib.report.launch_charts import class_series, latency_figure

    run = load_run(runs["latency-spike"])
    kinds = [m.kind for m in run.markers()]
    assert kinds[:2] == ["deploy", "onset"] and "decision" in kinds and kinds[-1] == "recovered"
    s = class_series(run)
    assert s["launch_s"].min() < 0 < s["launch_s"].max() < 600  # T-0 inside, launch seconds, not wall time
    fig = latency_figure(run, s)
    ticks = fig.layout.xaxis.ticktext
    assert "T-0" in ticks and any(t.startswith("T+") for t in ticks)
    # the fault (600 ms on every class from T+2m) shows in the p95 after the onset and not before
    api = s[s["cls"] == "api"]
    assert api[api["launch_s"].between(150, 170)]["p95"].max() > 400 > api[api["launch_s"] < 0]["p95"].max()


@pytest.mark.slow
def test_the_index_lists_every_run_and_a_broken_one_as_incomplete(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    for src in runs.values():
        shutil.copytree(src, reports / src.name)
    (reports / "half").mkdir()
    (reports / "half" / "events.jsonl").write_text("{}\n")
    (reports / "corrupt").mkdir()
    (reports / "corrupt" / "manifest.json").write_text("{not json")
    page = write_index(reports).read_text(encoding="utf-8")
    for src in runs.values():
        assert f"href='{src.name}/report.html'" in page
    assert "incomplete: no manifest.json" in page and "incomplete: " in page.split("corrupt")[1][:300]
    assert "Plotly.newPlot" in page and (reports / "plotly.min.js").exists()


@pytest.mark.slow
def test_analyse_renders_the_analysis_of_the_readme_run(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "analysis.html"
    cmd = [LAUNCHLIB, "analyse", str(runs["latency-spike"]), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"analysis: {out}" and not r.stderr
    import scrapbook as sb

    scraps = sb.read_notebook(str(out.with_suffix(".ipynb"))).scraps
    verdicts = [(v["run"], v["verdict"]) for v in scraps["analysis_verdicts"].data]
    assert verdicts == [(runs["latency-spike"].name, "fail")], verdicts
    what_if = scraps["analysis_what_if"].data
    assert len(what_if) == 27 and what_if[0]["decision"] == "rollback" and what_if[0]["tier"] == "immediate"
    assert len(scraps["analysis_incidents"].data) == 1
    page = out.read_text(encoding="utf-8")
    assert "Baseline versus candidate" in page and "import launchlib" not in page


@pytest.mark.scenario
def test_analyse_renders_the_analysis_of_three_runs(three_runs: dict[str, Path], tmp_path: Path) -> None:
    runs = three_runs
    out = tmp_path / "analysis.html"
    cmd = [LAUNCHLIB, "analyse", *(str(p) for p in runs.values()), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"analysis: {out}" and not r.stderr
    import scrapbook as sb

    scraps = sb.read_notebook(str(out.with_suffix(".ipynb"))).scraps
    verdicts = {v["run"]: v for v in scraps["analysis_verdicts"].data}
    verdicts["latency-spike"] = verdicts.pop(runs["latency-spike"].name)
    assert verdicts["latency-spike"]["verdict"] == "fail" and verdicts["clean"]["verdict"] in (
        "pass",
        "marginal",
    )
    judged = [
        j
        for j in scraps["analysis_judged"].data
        if j["run"] == runs["latency-spike"].name and j["metric"] == "latency_ms"
    ]
    assert any(j["verdict"] == "fail" and j["effect"] > 0.3 and j["p_value"] < 0.01 for j in judged)
    what_if = [w for w in scraps["analysis_what_if"].data if w["run"] == runs["latency-spike"].name]
    assert len(what_if) == 27 and what_if[0]["variant"].startswith("threshold ×1 · window ×1 · for ×1")
    assert what_if[0]["decision"] == "rollback" and what_if[0]["tier"] == "immediate"
    incidents = {i["run"]: i for i in scraps["analysis_incidents"].data}
    spike = runs["latency-spike"].name
    assert set(incidents) == {spike, "outage"} and incidents[spike]["class"]
    traffic = pd.DataFrame(scraps["analysis_traffic"].data)
    assert set(traffic["run"]) == {p.name for p in runs.values()}
    assert set(traffic["side"]) == {"baseline", "candidate"}
    outage = traffic[(traffic["run"] == "outage") & (traffic["class"] == "api")].set_index("side")
    assert outage.loc["baseline", "failed_pct"] < 1 and outage.loc["candidate", "failed_pct"] > 10, outage
    spiked = traffic[(traffic["run"] == spike) & (traffic["class"] == "api")].set_index("side")
    assert spiked.loc["candidate", "p95_ms"] > 2 * spiked.loc["baseline", "p95_ms"], spiked
    page = out.read_text(encoding="utf-8")
    assert (
        "Baseline versus candidate" in page
        and "Traffic across runs" in page
        and "What if the triggers" in page
        and "import launchlib" not in page
    )


@pytest.mark.slow
def test_the_analysis_notebook_runs_alone_with_plain_papermill(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    glob = str(next(iter(runs.values())).parent / "*")
    params = ["-p", "runs", glob, "-y", "threshold_scales: [1.0]\nwindow_scales: [1.0, 2.0]"]
    proc = subprocess.run(
        [
            str(Path(LAUNCHLIB).with_name("papermill")),
            str(ROOT / "notebooks" / "analysis.ipynb"),
            str(out),
            *params,
            "--no-progress-bar",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    import scrapbook as sb

    what_if = sb.read_notebook(str(out)).scraps["analysis_what_if"].data
    assert len(what_if) == len(list(Path(glob).parent.glob("*/manifest.json"))) * 2 * 3  # runs × a 1×2×3 grid


def test_analyse_refuses_a_missing_run(tmp_path: Path) -> None:
    r = subprocess.run(
        [LAUNCHLIB, "analyse", str(tmp_path / "nope"), "-o", str(tmp_path / "new" / "page" / "a.html")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "nope" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()  # the output's folders were made for the kernel: undone


@pytest.mark.slow
def test_report_index_and_phase_page_draw_in_a_browser_offline(runs: dict[str, Path], tmp_path: Path) -> None:
    require_binary(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    pages = [
        (runs["latency-spike"] / "report.html", 4),
        (runs["latency-spike"] / "T-0.html", 1),
        (runs["latency-spike"].parent / "index.html", 1),
    ]
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            blocked: list[str] = []

            def no_network(route) -> None:  # type: ignore[no-untyped-def]
                blocked.append(route.request.url)
                route.abort()

            context.route(re.compile(r"^(?!file:).*"), no_network)
            for path, charts in pages:
                errors: list[str] = []
                page = context.new_page()
                page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                page.goto(path.as_uri())
                page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}"
                )
                assert page.locator(".js-plotly-plot").count() >= charts, path
                assert not errors, (path, errors)
                shot = tmp_path / f"{path.stem}.png"  # the run folder is read-only to tests
                page.screenshot(path=str(shot), full_page=True)
                page.close()
            assert not blocked, blocked
        finally:
            browser.close()


@pytest.mark.slow
def test_a_decisions_line_in_the_report_reads_back_typed(runs: dict[str, Path]) -> None:
    run = load_run(runs["latency-spike"])
    assert run.decision is not None and run.decision.tier == "immediate"
    manifest = json.loads((runs["latency-spike"] / "manifest.json").read_text())
    assert manifest["rollback"]["tier"] == "immediate" and manifest["gate"]["go"] is True


@pytest.mark.slow
def test_the_analysis_judge_sees_a_late_fault_and_keeps_the_plans_bar(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """On the latency-spike run's own decision, with crafted samples (a copy of the run folder
    with them as its only part): a slowdown only while the decision's triggers held fails, though
    diluted over deploy → decision it does not; and a clean candidate a few ms slower passes
    whatever statistics are passed (the plan's +100 ms)."""
    import numpy as np

    from launchlib.evaluation.judge import JudgeSettings, judge
    from launchlib.report.analysis import judge_table

    run = load_run(runs["latency-spike"])
    origin, d = run.origin, run.decision
    assert origin is not None and d is not None and d.triggers
    held = min(t.evidence.first_true for t in d.triggers)
    until = d.recorded_at
    rng = np.random.default_rng(7)

    def frame(ts: np.ndarray, ms: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {"ts": ts, "endpoint": "/api/market", "latency_ms": ms, "status": 200, "client_stall_ms": 0.0}
        )

    base = frame(np.linspace(origin - 60, origin - 0.01, 200), 50 + rng.normal(0, 3, 200))
    healthy = frame(np.linspace(origin + 0.01, held - 0.01, 400), 50 + rng.normal(0, 3, 400))
    slow = frame(np.linspace(held + 0.01, until - 0.01, 40), 700 + rng.normal(0, 20, 40))

    def crafted(name: str, samples: pd.DataFrame) -> RunData:
        folder = tmp_path / name
        shutil.copytree(run.run_dir, folder, ignore=shutil.ignore_patterns("samples", "*.ipynb", "*.html"))
        (folder / "samples").mkdir()
        samples.to_parquet(folder / "samples" / "part-00000.parquet", index=False)
        return load_run(folder, with_results=False)

    late = crafted("late", pd.concat([base, healthy, slow], ignore_index=True))

    whole = [v for v in judge(run.plan, late.samples, origin, until) if v.cls == "api"]
    assert [v.verdict for v in whole if v.metric == "latency_ms"] != ["fail"]
    table, worst, _ = judge_table(late)
    api = table[(table["cls"] == "api") & (table["metric"] == "latency_ms")].iloc[0]
    assert worst == "fail" and api["verdict"] == "fail"
    assert api["interval"] in ("the decision's window", "while its triggers held"), api

    cand = frame(np.linspace(origin + 0.01, until - 0.01, 400), 56 + rng.normal(0, 3, 400))
    clean = crafted("clean", pd.concat([base, cand], ignore_index=True))
    loose = JudgeSettings(alpha=0.05)
    unbarred = [v for v in judge(run.plan, clean.samples, origin, until, loose) if v.metric == "latency_ms"]
    assert [v.verdict for v in unbarred] == ["fail"]  # without the plan's bar a 6-ms shift fails
    table, worst, _ = judge_table(clean, loose)
    assert worst == "pass" and set(table["verdict"]) == {"pass"}, table


@pytest.mark.slow
def test_one_read_of_a_run_serves_the_judge_and_the_what_if(runs: dict[str, Path]) -> None:
    """The analysis reads each run's samples once (:func:`run_samples`): its counts are the judge's
    own read's, its rows the what-if's own read's (the engine's classes and masked stalls, up to
    the decision), and the run's tables come out as they do from separate reads."""
    import numpy as np

    from launchlib.evaluation.sources import run_rows
    from launchlib.evaluation.whatif import variant_grid
    from launchlib.report.analysis import judge_table, run_counts, run_samples, what_if_table
    from launchlib.report.analysis_runs import run_tables
    from launchlib.runfolder.sample_query import SampleQuery

    run = load_run(runs["latency-spike"], with_results=False)
    assert run.decision is not None
    grid = variant_grid()
    with SampleQuery() as q:
        got = run_samples(run, q)
        counts, rows = run_counts(run, q), run_rows(q, run.run_dir, run.plan, end=run.decision.recorded_at)
        tables = run_tables(run, grid, None, q)
        alone = what_if_table(run, grid, q)
    assert got is not None and counts is not None
    assert got.counts.groups.keys() == counts.groups.keys() and got.counts.intervals == counts.intervals == 3
    for key, (v, base, per) in counts.groups.items():
        v2, base2, per2 = got.counts.groups[key]
        assert np.array_equal(v, v2) and np.array_equal(base, base2), key
        assert all(np.array_equal(a, b) for a, b in zip(per, per2, strict=True)), key
    assert int(rows.ts.size) > 1000 and float(rows.ts.max()) <= run.decision.recorded_at
    for name in ("ts", "cls", "latency", "status"):
        assert np.array_equal(getattr(rows, name), getattr(got.rows, name), equal_nan=True), name
    pd.testing.assert_frame_equal(tables.what_if.drop(columns="run"), alone)
    table, worst, _ = judge_table(run)
    assert tables.verdict["verdict"] == worst == "fail"
    pd.testing.assert_frame_equal(tables.judged.drop(columns="run"), table)


def test_a_page_leaves_out_widget_views_and_keeps_their_static_table(tmp_path: Path) -> None:
    """Offline a widget view is its Python repr at display time (a checklist's ``VBox(…``, a
    progress bar at 0 %); the page leaves it out and keeps every other output."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from launchlib.report.html import WIDGET_VIEW, render_html

    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    cell = new_code_cell("ll.checklist()")
    cell.outputs = [
        new_output("display_data", {WIDGET_VIEW: view, "text/plain": "VBox(children=(HBox(children=…"}),
        new_output("display_data", {WIDGET_VIEW: view, "text/plain": "analysing runs:   0%|   | 0/100"}),
        new_output("display_data", {"text/html": "<table class='launchlib-checklist-table'></table>"}),
        new_output("stream", name="stdout", text="100 runs: r1, r2\n"),
    ]
    nb = new_notebook(cells=[cell])
    nbformat.write(nb, tmp_path / "page.ipynb")
    page = render_html(tmp_path / "page.ipynb", tmp_path / "page.html").read_text(encoding="utf-8")
    assert "VBox(children" not in page and "analysing runs" not in page
    assert "launchlib-checklist-table" in page and "100 runs: r1, r2" in page


def test_close_markers_share_a_label_that_fits_its_panel() -> None:
    """Three firings, the decision and the rollback's start within a few seconds are one label at
    the decision, weightiest first, the firings counted; every line fits; far ones stay apart."""
    from launchlib.report.markers import LABEL_CHARS, group_markers, marker_text
    from launchlib.report.run_data import Marker

    markers = [
        Marker("deploy", "deploy v1.0-prod-ready", 0.0),
        *(Marker("firing", f"{t} fired", 170.0) for t in ("performance_degradation", "api_latency", "x")),
        Marker("rollback", "rollback started", 184.0),
        Marker("decision", "immediate rollback decided", 181.0),
    ]
    grouped = group_markers(markers, gap_s=16.0)
    assert [(m.kind, m.launch_s) for m in grouped] == [("deploy", 0.0), ("decision", 181.0)]
    text, full = marker_text(grouped[1])
    lines = text.split("<br>")
    assert lines == ["T+3m01s", "immediate rollback decided", "rollback started", "3 triggers fired"]
    assert all(len(line) <= LABEL_CHARS for line in lines) and full.startswith("T+3m01s: immediate")
    one = group_markers([Marker("firing", "performance_degradation_of_the_api fired", 60.0)], 16.0)
    drawn = marker_text(one[0])[0].split("<br>")
    assert drawn[1].endswith("…") and len(drawn[1]) == LABEL_CHARS
    many = Marker("decision", "\n".join(f"part {i}" for i in range(5)), 10.0)
    assert marker_text(many)[0].split("<br>")[1:] == ["part 0", "part 1", "+3 more"]


def test_the_analysis_names_few_runs_and_summarises_many() -> None:
    from types import SimpleNamespace

    from launchlib.report.analysis_runs import Analysis

    def runs(n: int) -> list:  # type: ignore[type-arg]
        ended = ["rolled back", "launched", "rolled back"]
        made = [SimpleNamespace(run_id=f"r{i}", outcome=ended[i % 3]) for i in range(n)]
        return [SimpleNamespace(manifest=m) for m in made]

    empty = pd.DataFrame()
    few = Analysis(runs(2), *[empty] * 7).summary()  # type: ignore[arg-type]
    assert few == "2 runs: r0, r1 (1 rolled back, 1 launched)"
    many = Analysis(runs(100), *[empty] * 7).summary()  # type: ignore[arg-type]
    assert many == "100 runs: r0, r1, r2 … r99 (67 rolled back, 33 launched)"
