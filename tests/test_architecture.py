"""The house has rooms: subpackages by layer, imports pointing down only, no cycle, no hidden import.

Walks every module of the package with ``ast``: an import of a higher layer fails, so does a
cycle between modules, and so does an import inside a function, unless it is of an optional or
heavy dependency (never launchlib itself, but for the CLI's per-command imports) with a comment
on its line saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "launchlib"
# highest first: a module may import its own layer and the layers after it
LAYERS = [
    "cli",
    "runner",
    "launch",
    "report",
    "signoff",
    "evaluation",
    "backends",
    "runfolder",
    "probing",
    "simulator",
    "plan",
    "errors",
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _imports(path: Path) -> list[tuple[ast.stmt, list[str], bool]]:
    """(node, imported modules, at module level) for every import of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(tree.body)
    for node in tree.body:  # `if TYPE_CHECKING:` imports are module-level, for the type checker only
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            top.update(node.body)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = (
                [node.module] if node.module != "launchlib" else [f"launchlib.{a.name}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out.append((node, names, node in top))
    return out


def test_every_module_belongs_to_a_layer() -> None:
    loose = [m for m in _modules() if m != "launchlib" and _layer(m) is None]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"
    flat = [p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "cli", "errors")]
    assert not flat, f"only cli and errors live at the top: {flat}"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for name, path in _modules().items():
        me = _layer(name)
        for node, targets, _ in _imports(path):
            for t in targets:
                other = _layer(t)
                if me and other and LAYERS.index(other) < LAYERS.index(me):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {me} imports {t}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules() -> None:
    mods = _modules()
    graph = {
        name: {t for _, targets, _ in _imports(path) for t in targets if t in mods and t != name}
        for name, path in mods.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_imports_inside_functions_are_heavy_optional_ones_with_a_reason() -> None:
    bad = []
    for name, path in _modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, targets, at_top in _imports(path):
            if at_top or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                continue
            span = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
            line, above = " ".join(x.strip() for x in span), lines[node.lineno - 2].strip()
            reason = "#" in line or above.startswith("#")
            ours = any(t.startswith("launchlib") for t in targets)
            docker_sdk = {"launchlib.backends.docker", "launchlib.backends.container_faults"}
            allowed_ours = name.startswith("launchlib.cli") or bool(docker_sdk & set(targets))
            if not reason or (ours and not allowed_ours):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_no_module_is_a_grab_bag_or_too_long() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert not too_long, too_long
    assert not [p for p in PACKAGE.rglob("*.py") if p.stem in ("utils", "helpers", "misc", "common")]


def test_every_check_the_plan_may_name_has_one_implementation() -> None:
    import pytest

    from launchlib.launch.checks import CHECKS, registers
    from launchlib.plan.model import KNOWN_CHECKS

    assert set(CHECKS) == set(KNOWN_CHECKS)
    with pytest.raises(ValueError, match=r"not in launchlib\.plan\.model\.KNOWN_CHECKS"):
        registers("telepathy")(CHECKS["health"])


def _run_path(node: ast.expr) -> bool:
    """An expression that names a run folder: ``run_dir``, ``self.run_dir``, ``ctx.run_dir``."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name in ("run_dir", "run", "folder_of_run")


def test_only_the_run_folder_names_its_files() -> None:
    """No module outside ``launchlib/runfolder/`` writes a run file's name or joins a file name
    onto a run path: it asks :class:`~launchlib.runfolder.files.RunFolder`."""
    from launchlib.runfolder.files import RUN_FILES

    bad = []
    for name, path in _modules().items():
        if _layer(name) == "runfolder":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = isinstance(node, ast.Constant) and node.value in RUN_FILES
            joined = (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Div)
                and _run_path(node.left)
                and isinstance(node.right, ast.Constant | ast.JoinedStr)
            )
            if literal or joined:
                bad.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}: {ast.unparse(node)}")
    assert not bad, "\n".join(bad)
