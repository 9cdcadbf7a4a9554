"""Importing the seed's Markdown gives the reference plan; export reads back the same."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import LAUNCHLIB, PLAN_PATH, cli_env

from launchlib.plan.files import load_plan
from launchlib.plan.md_export import export_markdown
from launchlib.plan.md_import import import_markdown
from launchlib.plan.md_parse import parse_markdown
from launchlib.plan.model import Plan


def _essentials(plan: Plan) -> dict[str, object]:
    """Phases, items, owners, tables and thresholds: what import must preserve."""
    return {
        "phases": [(p.id, p.offset_s, [(i.id, i.text, i.owner) for i in p.items]) for p in plan.phases],
        "items": {sec: [(i.text, i.owner, i.phase) for i in items] for sec, items in plan.item_lists()},
        "thresholds": [str(i.threshold) for _, items in plan.item_lists() for i in items if i.threshold],
        "triggers": [(t.id, tr.id, tr.condition.describe()) for t, tr in plan.triggers()],
        "roles": [r.model_dump() for r in plan.roles],
        "stakeholders": [s.model_dump() for s in plan.stakeholders],
        "escalation": [e.model_dump() for e in plan.escalation],
        "procedures": [p.model_dump() for p in plan.rollback.procedures],
        "confirm": [(t.id, t.confirm) for t in plan.rollback.tiers],
    }


def test_seed_import_matches_reference_plan(seed_path: Path, plan: Plan) -> None:
    result = import_markdown(seed_path)
    assert result.warnings == []
    assert result.plan.checklist_count() == 132
    assert _essentials(result.plan) == _essentials(plan)


def test_cli_import_then_validate(seed_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    r = subprocess.run(
        [LAUNCHLIB, "plan", "import", str(seed_path), "-o", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [LAUNCHLIB, "plan", "validate", str(out)], capture_output=True, text=True, env=cli_env(), check=False
    )
    assert r.returncode == 0, r.stderr
    assert "132 checklist items" in r.stdout
    assert load_plan(out) == import_markdown(seed_path).plan


def test_export_round_trip(plan: Plan, tmp_path: Path) -> None:
    md = tmp_path / "plan.md"
    md.write_text(export_markdown(plan))
    again = import_markdown(md)
    assert again.warnings == []
    assert _essentials(again.plan) == _essentials(plan)
    assert again.plan.metadata == plan.metadata


def test_heading_decoration_does_not_matter(seed_path: Path, tmp_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8")
    plain = re.sub(r"^(#+) [^A-Za-z0-9\n]+", r"\1 ", text, flags=re.MULTILINE)
    assert "ðŸ" in text and "ðŸ" not in plain
    fancy = text.replace("## ", "## 🚀 ").replace("#### T-24", "#### ⏰⏰ T-24")
    for variant in (plain, fancy):
        p = tmp_path / "v.md"
        p.write_text(variant, encoding="utf-8")
        assert _essentials(import_markdown(p).plan) == _essentials(import_markdown(seed_path).plan)


def test_checked_items_and_unknown_owner_warn(tmp_path: Path, seed_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8")
    text = text.replace("- [ ] Backup verification", "- [x] Backup verification")
    text = text.replace("**Trading Lead**: Monitor trading systems", "**Janitor**: Monitor trading systems")
    p = tmp_path / "x.md"
    p.write_text(text, encoding="utf-8")
    result = import_markdown(p)
    assert result.plan.checklist_count() == 132
    assert any("Janitor" in w for w in result.warnings)


def test_code_blocks_are_not_headings() -> None:
    root = parse_markdown("# A\n## B\n```bash\n# not a heading\nls\n```\n## C\n")
    a = root.children[0]
    assert [c.title for c in a.children] == ["B", "C"]
    assert "# not a heading" in a.children[0].code


def test_cli_export_writes_markdown(tmp_path: Path) -> None:
    out = tmp_path / "o.md"
    r = subprocess.run(
        [LAUNCHLIB, "plan", "export", str(PLAN_PATH), "-o", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "#### T+5 Minutes: Initial Verification" in out.read_text()


def test_long_lines_import_in_linear_time(tmp_path: Path, seed_path: Path) -> None:
    """Threshold and item parsing is linear: a 1 MB checklist line imports in under a second."""
    import time

    seed = seed_path.read_text(encoding="utf-8")

    def import_with(n: int) -> float:
        text = seed.replace("- [ ] Final system health check", "- [ ] Final check " + "ab < " * (n // 5), 1)
        path = tmp_path / f"plan-{n}.md"
        path.write_text(text, encoding="utf-8")
        started = time.perf_counter()
        assert import_markdown(path).plan.checklist_count() == 132
        return time.perf_counter() - started

    small, big = import_with(40_000), import_with(1_000_000)
    assert big < 100 * max(small, 1e-3), (small, big)  # 25x the text: linear, not quadratic (625x)
