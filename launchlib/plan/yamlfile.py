"""Read and write launchlib's YAML parameter files with precise error locations.

Dates stay strings (no implicit timestamps), and every mapping key and sequence entry is
remembered with its line so that a validation error names ``file:line: field.path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from launchlib.errors import PlanError, Problem

__all__ = ["dump_yaml", "load_model", "load_yaml", "problems_from_validation"]

M = TypeVar("M", bound=BaseModel)
Lines = dict[tuple[str | int, ...], int]


class _StringDateLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: ``2025-08-07`` stays a string."""


_StringDateLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line_map(node: yaml.Node, path: tuple[str | int, ...], out: Lines) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            out[sub] = key.start_mark.line + 1
            _line_map(value, sub, out)
            out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)


def load_yaml(path: Path | str) -> tuple[Any, Lines]:
    """Parse a YAML file; returns the data and a map from field path to line number."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            [Problem(str(path), "", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8")]
        ) from None
    except OSError as exc:
        raise PlanError([Problem(str(path), "", f"cannot read file: {exc.strerror}")]) from exc
    try:
        loader = _StringDateLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = f"malformed YAML: {exc.problem or exc.context}"
        raise PlanError([Problem(str(path), "", msg, line)]) from exc
    except yaml.YAMLError as exc:
        raise PlanError([Problem(str(path), "", f"malformed YAML: {exc}")]) from exc
    lines: Lines = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


def _field_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_for(lines: Lines, loc: tuple[str | int, ...]) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def problems_from_validation(exc: ValidationError, file: str, lines: Lines) -> list[Problem]:
    """Turn pydantic's errors into one :class:`Problem` per error, with line numbers."""
    problems = []
    for err in exc.errors():
        # pydantic adds the tagged-union / validator names into loc; keep only data keys
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith("function-"))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "missing required field"
        problems.append(Problem(file, _field_path(loc), msg, line_for(lines, loc)))
    return problems


def load_model(path: Path | str, model: type[M]) -> M:
    """Load a YAML file into a pydantic model; any problem raises :class:`PlanError`."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise PlanError([Problem(str(path), "", "expected a YAML mapping at the top level", 1)])
    try:
        return model.model_validate(data, context={"file": str(path), "lines": lines})
    except ValidationError as exc:
        raise PlanError(problems_from_validation(exc, str(path), lines)) from None


class _Dumper(yaml.SafeDumper):
    """Block-style dumper that keeps key order and writes multi-line strings as blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list_representer(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flat = all(isinstance(v, str | int | float) for v in value) and sum(len(str(v)) for v in value) < 60
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat and bool(value))


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(list, _list_representer)


def dump_yaml(data: Any, path: Path | str | None = None, header: str = "") -> str:
    """Serialise plain data as readable YAML; write it to ``path`` when given."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    text = header + text
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
