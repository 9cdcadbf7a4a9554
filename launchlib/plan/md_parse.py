"""Markdown as the importer reads it: a tree of sections, their tables, their bold ``**Role**: task`` pairs.

Heading decoration (emoji, even garbled) is dropped from titles; parsing is one pass over the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["BOLD_PREFIX", "Section", "bold_pairs", "parse_markdown", "table", "unbold"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BOLD_PREFIX = re.compile(r"^\*\*(.+?)\*\*\s*:\s*(.*)$")  # **Role**: task
_BULLET = re.compile(r"^\s*[-*]\s+(?!\[)(.*?)\s*$")


@dataclass
class Section:
    """A heading with the lines under it (up to the next heading) and its sub-sections."""

    level: int
    title: str
    line: int
    body: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def child(self, *words: str) -> Section | None:
        """The first sub-section whose title contains all ``words`` (case-insensitive)."""
        for c in self.children:
            if all(w in c.title.lower() for w in words):
                return c
        return None


def _clean_title(raw: str) -> str:
    # drop leading decoration: emoji, their mojibake, punctuation
    return re.sub(r"^[^A-Za-z0-9]+", "", raw).strip()


def parse_markdown(text: str) -> Section:
    """Split Markdown into a section tree; the root has level 0."""
    root = Section(0, "", 0)
    stack = [root]
    fence: str | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            else:
                stack[-1].code.append(line)
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            stack[-1].code.append("")  # blank separates blocks
            continue
        m = _HEADING.match(line)
        if m:
            sec = Section(len(m.group(1)), _clean_title(m.group(2)), n)
            while stack[-1].level >= sec.level:
                stack.pop()
            stack[-1].children.append(sec)
            stack.append(sec)
        else:
            stack[-1].body.append(line)
    return root


def unbold(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text).strip()


def table(sec: Section) -> list[dict[str, str]]:
    rows = [ln.strip() for ln in sec.body if ln.strip().startswith("|")]
    if len(rows) < 2:
        return []
    cells = [[unbold(c) for c in r.strip("|").split("|")] for r in rows]
    header = [h.lower() for h in cells[0]]
    return [dict(zip(header, r, strict=False)) for r in cells[2:]]


def bold_pairs(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for ln in lines:
        m = _BULLET.match(ln)
        body = m.group(1) if m else ln.strip()
        bm = BOLD_PREFIX.match(body)
        if bm:
            out.append((bm.group(1).strip(), bm.group(2).strip()))
    return out
