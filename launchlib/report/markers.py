"""Moments on a launch-clock chart (deploy, fault onset, firings, the decision, the rollback's start,
recovery) as labels a person can read: close ones share one label, each line cut to fit."""

from __future__ import annotations

from launchlib.report.run_data import Marker
from launchlib.runfolder.clock import clock

__all__ = ["LABEL_CHARS", "LABEL_LINES", "group_markers", "marker_text"]

_RANK = {"firing": 0, "deploy": 1, "onset": 2, "rollback": 3, "recovered": 4, "decision": 5}
LABEL_LINES, LABEL_CHARS = 4, 26  # a marker's label: its time and up to three parts, each line this long


def group_markers(markers: list[Marker], gap_s: float) -> list[Marker]:
    """Markers closer than ``gap_s`` to the one before become one (three triggers firing in the
    same evaluation are one line, not three unreadable labels), drawn where the weightiest of them
    is (a decision before a rollback's start before a firing) and labelled a part per line,
    weightiest first; several firings are counted (the decision box names them)."""
    groups: list[list[Marker]] = []
    for mk in sorted(markers, key=lambda m: m.launch_s):
        if groups and mk.launch_s - groups[-1][-1].launch_s < gap_s:
            groups[-1].append(mk)
        else:
            groups.append([mk])
    out = []
    for group in groups:
        ranked = sorted(group, key=lambda m: -_RANK[m.kind])
        fired = [m.label for m in ranked if m.kind == "firing"]
        parts = [m.label for m in ranked if m.kind != "firing"]
        parts += fired if len(fired) < 2 else [f"{len(fired)} triggers fired"]
        out.append(Marker(ranked[0].kind, "\n".join(parts), ranked[0].launch_s))
    return out


def marker_text(mk: Marker) -> tuple[str, str]:
    """A grouped marker's label as drawn (its time, then a part per line, each cut to fit: a
    vertical label runs down from the top, and a long one crossed the panels below) and in full
    (shown on hover)."""
    parts = mk.label.split("\n")
    if len(parts) > LABEL_LINES - 1:
        parts = [*parts[: LABEL_LINES - 2], f"+{len(parts) - LABEL_LINES + 2} more"]
    cut = [p if len(p) <= LABEL_CHARS else p[: LABEL_CHARS - 1] + "…" for p in parts]
    return "<br>".join([clock(mk.launch_s), *cut]), f"{clock(mk.launch_s)}: " + "; ".join(
        mk.label.split("\n")
    )
