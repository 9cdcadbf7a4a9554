"""One error boundary: bad input to any command is one line per problem and exit 2, never a traceback.

A corpus of the bad inputs people actually give, fed to every command as a subprocess; then
Hypothesis generates plan files and sample files: each is accepted or refused with a
:class:`~launchlib.errors.PlanError`/``DataError`` naming the file, never any other exception.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import LAUNCHLIB, PLAN_PATH, ROOT, cli_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchlib.errors import PlanError
from launchlib.evaluation.replay import replay_file
from launchlib.plan.files import load_plan

SEED = ROOT.parent / "shared" / "seed" / "war-room-plan.md"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    (d / "nonutf8.yaml").write_bytes(b"\xff\xfe\x00 not utf-8")
    (d / "binary.jsonl").write_bytes(b"\x00\x01\x02\xff")
    (d / "afile").write_text("not a folder")
    (d / "empty.csv").write_text("")
    (d / "list.yaml").write_text("- a\n- b\n")
    (d / "samples.csv").write_text(
        "ts,endpoint,latency_ms,status,release\n1,/api/market,5,200,a\n2,/api/market,6,200,a\n"
    )
    (d / "bad-latency.csv").write_text(
        "ts,endpoint,latency_ms,status,release\n1,/api/market,-5,200,a\n2,/api/market,inf,200,a\n"
    )
    (d / "text-latency.csv").write_text("ts,endpoint,latency_ms,status,release\n1,/api/market,fast,200,a\n")
    (d / "plain.md").write_text("# A plan\n\n## Roles\n\nnothing\n")
    return d


P = str(PLAN_PATH)
CASES = [
    ["plan", "validate", "nonutf8.yaml"],
    ["plan", "validate", "list.yaml"],
    ["plan", "validate", "missing.yaml"],
    ["plan", "show", "nonutf8.yaml"],
    ["plan", "import", "plain.md", "-o", "out.yaml"],
    ["plan", "import", "missing.md", "-o", "out.yaml"],
    ["plan", "import", str(SEED), "-o", "no/such/folder/plan.yaml"],
    ["plan", "export", P, "-o", "."],
    ["plan", "export", "nonutf8.yaml"],
    ["replay", "samples.csv", "--deploy-at", "nan", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "inf", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "yesterday", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "100", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "-1e12", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "1.5", "--until", "1", "--plan", P],
    ["replay", "samples.csv", "--deploy-at", "1.5", "--events", "binary.jsonl", "--plan", P],
    ["replay", "bad-latency.csv", "--deploy-at", "1.5", "--plan", P],
    ["replay", "text-latency.csv", "--deploy-at", "1", "--plan", P],
    ["replay", "empty.csv", "--deploy-at", "1", "--plan", P],
    ["replay", "nonutf8.yaml", "--deploy-at", "1", "--plan", P],
    ["replay", "missing.csv", "--deploy-at", "1", "--plan", P],
    ["sim", "serve", "--port", "70000"],
    ["sim", "serve", "--scenario", "no-such"],
    ["rehearse", "--scenario", "no-such"],
    ["rehearse", "--compress", "0"],
    ["rehearse", "--reports", "afile"],
    ["rehearse", "--run-id", "../escape"],
    ["rehearse", "--run-id", "a/b"],
    ["rehearse", "--plan", "nonutf8.yaml"],
    ["rehearse", "--signoffs", "list.yaml"],
    ["run-phase", "T-24h", "--run-id", "x", "--plan", "missing.yaml"],
    ["run-phase", "T-24h", "--run-id", ".."],
    ["run-phase", "T-99h", "--run-id", "x", "--plan", P, "--dry-run"],
    ["run-phase", "T-24h", "--run-id", "x", "--plan", P, "--database-url-env", "LAUNCHLIB_UNSET_FOR_TEST"],
    ["run-phase", "T-0", "--run-id", "x", "--plan", P, "--docker-project", "trading"],
    ["monitor", "--run-id", "../x", "--target", "http://127.0.0.1:1", "--plan", P],
    ["monitor", "--run-id", "x", "--target", "http://127.0.0.1:1", "--rate", "0", "--plan", P],
    ["signoff", "..", "T-1h", "final_system_check", "--role", "devops_lead", "--by", "me", "--plan", P],
    ["signoff", "status", "..", "--plan", P],
    ["signoff", "status", "never-ran", "--plan", P],
    ["signoff", "page", "never-ran", "--port", "0", "--plan", P],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a)[:60] for a in CASES])
def test_bad_input_is_one_line_and_exit_2(corpus: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [LAUNCHLIB, *args], cwd=corpus, capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith(("error: ", "Usage: ", "Try ", "Error: ")) for ln in lines), lines
    assert not (corpus / "x" / "plan.yaml").exists() and not (corpus.parent / "escape").exists()


# -- generated plans --------------------------------------------------------------------------
GOOD = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(GOOD)


def _set(doc: object, path: tuple[object, ...], value: object) -> None:
    for key in path[:-1]:
        doc = doc[key]  # type: ignore[index]
    doc[path[-1]] = value  # type: ignore[index]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), SCALARS), min_size=1, max_size=4))
def test_generated_plans_are_accepted_or_refused(tmp_path: Path, changes: list) -> None:
    import copy

    doc = copy.deepcopy(GOOD)
    for path, value in changes:
        try:
            _set(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        load_plan(path)
    except PlanError as exc:
        assert all(str(path) in line for line in exc.lines()), exc.lines()


# -- generated samples ------------------------------------------------------------------------
CELLS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["/api/market", "/health", "/api/orders", "2024-01-01T00:00:00Z", "200", ""]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries({c: CELLS for c in ("ts", "endpoint", "latency_ms", "status", "release")}),
        max_size=12,
    ),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10)),
    st.booleans(),
)
def test_generated_samples_are_judged_or_refused(
    tmp_path: Path, rows: list, deploy: object, csv: bool
) -> None:
    plan = load_plan(PLAN_PATH)
    frame = pd.DataFrame(rows, columns=["ts", "endpoint", "latency_ms", "status", "release"])
    path = tmp_path / ("s.csv" if csv else "s.parquet")
    try:
        if csv:
            frame.to_csv(path, index=False)
        else:
            frame.astype("string").to_parquet(path, index=False)
    except Exception:  # a frame pyarrow cannot store is not an input anyone can give
        return
    try:
        out = replay_file(plan, path, deploy)  # type: ignore[arg-type]
    except PlanError as exc:  # a refusal names what was refused: the samples file or the deploy time
        assert exc.problems and all(p.file in (str(path), "--deploy-at") for p in exc.problems), exc.lines()
        assert all(str(p).strip() and "\n" not in str(p) for p in exc.problems), exc.lines()
        return
    assert out.decision in ("rollback", "proceed")
    assert all(math.isfinite(f.first_at) for f in out.triggers)
