"""Broken plans fail with one clear line per problem, naming file, field and line; exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import LAUNCHLIB, PLAN_PATH, cli_env

from launchlib.errors import PlanError
from launchlib.plan.files import load_plan

GOOD = PLAN_PATH.read_text(encoding="utf-8")


def _variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    assert old in GOOD, old
    p = tmp_path / "plan.yaml"
    p.write_text(GOOD.replace(old, new, count), encoding="utf-8")
    return p


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


BROKEN = [
    # (name, old, new, expected text in the error, line-marker in the broken file)
    (
        "unknown owner",
        "owner: devops_lead",
        "owner: devops_leed",
        "phases[4].items[1].owner: unknown role 'devops_leed'",
        "devops_leed",
    ),
    (
        "missing threshold",
        "        threshold: 500.0\n",
        "",
        "missing threshold for metric latency_p95_ms",
        None,
    ),
    ("duplicate phase", "- id: T-12h", "- id: T-24h", "phases[1].id: duplicate phase 'T-24h'", None),
    (
        "offsets out of order",
        "offset_s: -21600",
        "offset_s: -90000",
        "phases[2].offset_s: phase T-6h at -90000s is not after T-12h",
        "-90000",
    ),
    (
        "malformed yaml",
        "  title: Launch War-Room & Rollback Plan",
        "  title: [Launch War-Room",
        "malformed YAML",
        None,
    ),
    (
        "unknown field",
        "  interval_s: 10.0",
        "  interval_s: 10.0\n  intervall_s: 5",
        "monitoring.intervall_s: unknown field",
        "intervall_s",
    ),
    ("wrong type", "offset_s: 300", "offset_s: soon", "phases[5].offset_s:", "soon"),
    ("unknown check", "check: backup_restore", "check: backups", "unknown check 'backups'", "check: backups"),
    ("bad tier", "- id: fast", "- id: quick", "rollback.tiers[1].id:", "quick"),
    (
        "unknown class",
        "classes: [trading]",
        "classes: [tradin]",
        "unknown endpoint class 'tradin'",
        "classes: [tradin]",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "expected", "marker"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plan_cli(
    tmp_path: Path, name: str, old: str, new: str, expected: str, marker: str | None
) -> None:
    path = _variant(tmp_path, old, new)
    r = subprocess.run(
        [LAUNCHLIB, "plan", "validate", str(path)], capture_output=True, text=True, env=cli_env(), check=False
    )
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert any(expected in ln for ln in lines), r.stderr
    assert all(ln.startswith(f"error: {path}:") for ln in lines), r.stderr
    if marker:
        assert f"{path}:{_line_of(path, marker)}:" in r.stderr
    assert "Traceback" not in r.stderr


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  title: Launch War-Room & Rollback Plan", "  title: [Launch War-Room")
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert err.value.problems[0].line is not None
    assert err.value.problems[0].line >= _line_of(path, "[Launch War-Room")


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = _variant(tmp_path, "owner: risk_manager", "owner: cfo", count=-1)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    problems = err.value.problems
    assert len(problems) == GOOD.count("owner: risk_manager")  # every one, not just the first
    assert all(p.field.endswith(".owner") and "unknown role 'cfo'" in p.message for p in problems)
    assert all(p.line is not None and "cfo" in path.read_text().splitlines()[p.line - 1] for p in problems)


def test_missing_file_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read file"):
        load_plan(tmp_path / "nope.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(PlanError, match="expected a YAML mapping"):
        load_plan(bad)


def test_dates_stay_strings(tmp_path: Path) -> None:
    path = _variant(tmp_path, "date: August 7, 2025", "date: 2025-08-07")
    assert load_plan(path).metadata.date == "2025-08-07"


def test_show_prints_timeline() -> None:
    r = subprocess.run(
        [LAUNCHLIB, "plan", "show", str(PLAN_PATH)], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert "T+15m" in r.stdout and "Run automated smoke tests" in r.stdout
    assert "api_latency" in r.stdout


IMPOSSIBLE = [
    # (name, old, new, expected words in the one line that names the field)
    (
        "negative threshold",
        "        threshold: 500.0\n",
        "        threshold: -500.0\n",
        "must not be negative",
    ),
    ("zero window", "        window_s: 20.0\n", "        window_s: 0\n", "window_s must be > 0"),
    ("for longer than window", "        for_s: 10.0\n", "        for_s: 30.0\n", "must not exceed window_s"),
    ("zero interval", "  interval_s: 10.0\n", "  interval_s: 0\n", "monitoring.interval_s"),
    ("no samples", "  min_samples: 10\n", "  min_samples: 0\n", "monitoring.min_samples"),
    ("success ratio of 50", "      value: 0.01\n", "      value: 50\n", "within [0, 1]"),
    ("negative deadline", "    deadline_s: 300\n", "    deadline_s: -300\n", "deadline_s"),
    ("failure ratio of 5", "        threshold: 0.05\n", "        threshold: 5.0\n", "within [0, 1]"),
    (
        "unknown metric",
        "      metric: availability\n",
        "      metric: happiness\n",
        "unknown metric 'happiness'",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), IMPOSSIBLE, ids=[c[0] for c in IMPOSSIBLE])
def test_impossible_numbers_are_refused(tmp_path: Path, name: str, old: str, new: str, expected: str) -> None:
    path = _variant(tmp_path, old, new)
    proc = subprocess.run(
        [LAUNCHLIB, "plan", "validate", str(path)], capture_output=True, text=True, env=cli_env()
    )
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.splitlines()
    assert any(expected in line and str(path) in line for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr
