"""PhaseResult: the versioned, schema-checked JSON every phase notebook glues with scrapbook.

The runner, the manifest, the T+24h review and a user's own scripts read this one format;
it is validated when written (:meth:`PhaseResult.glue`) and when read (:func:`read_results`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from launchlib.errors import RunError
from launchlib.runfolder.records import DecisionsLine, GateRecord, ItemState, RollbackRecord

__all__ = ["RESULT_SCRAP", "RESULT_VERSION", "PhaseResult", "PhaseStatus", "read_results"]

RESULT_SCRAP = "phase_result"
RESULT_VERSION = 2  # 2: items are ItemState records (1: ItemResult, read and converted)


class PhaseStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"  # stopped by the runner (rollback decision, dead monitor, Ctrl-C)


class PhaseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = RESULT_VERSION
    phase: str
    status: PhaseStatus
    reason: str = ""
    items: list[ItemState] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    decisions: list[DecisionsLine] = Field(default_factory=list)
    gate: GateRecord | None = None
    rollback: RollbackRecord | None = None
    started: float
    finished: float
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.finished - self.started

    def glue(self) -> None:
        """Record this result in the running notebook (scrapbook), validated as JSON."""
        import scrapbook as sb  # heavy (papermill, nbformat): only in a notebook or when reading results

        data = self.model_dump(mode="json")
        PhaseResult.model_validate(data)
        sb.glue(RESULT_SCRAP, data, encoder="json")


def read_results(run_dir: Path | str) -> dict[str, PhaseResult]:
    """Every phase result glued in a run folder's executed notebooks, by phase id."""
    import scrapbook as sb  # heavy (papermill, nbformat): only in a notebook or when reading results

    out: dict[str, PhaseResult] = {}
    book = sb.read_notebooks(str(run_dir))
    for name, nb in book.items():
        scrap = nb.scraps.get(RESULT_SCRAP)
        if scrap is None:
            continue
        try:
            res = PhaseResult.model_validate(_upgrade(scrap.data))
        except ValidationError as exc:
            raise RunError(f"{run_dir}/{name}.ipynb: {RESULT_SCRAP}: {exc.errors()[0]['msg']}") from None
        if res.version != RESULT_VERSION:
            raise RunError(
                f"{run_dir}/{name}.ipynb: {RESULT_SCRAP}.version {res.version} is not {RESULT_VERSION}"
            )
        out[res.phase] = res
    return out


def _v1_item(phase: str, it: dict[str, Any]) -> dict[str, Any]:
    """A version-1 ``ItemResult`` as an :class:`ItemState`: its one-word state becomes the check's
    result (passed, failed) or the person's sign-off (done, waived, blocked) it was derived from."""
    state = it.get("state")
    out: dict[str, object] = {
        "phase": phase,
        "item": it.get("id"),
        **{k: it[k] for k in ("text", "owner", "check", "required") if k in it},
        "by": it.get("signed_by"),
        "at": it.get("signed_at"),
        "check_detail": it.get("detail", ""),
    }
    if it.get("check") is not None and state in ("passed", "failed"):
        out["check_state"] = "done" if state == "passed" else "blocked"
    elif state in ("done", "waived", "blocked"):
        out["signed"] = state
    return out


def _upgrade(data: Any) -> Any:
    """A version-1 result (items as ``ItemResult``) as version 2; other versions as they are."""
    if not isinstance(data, dict) or data.get("version") != 1:
        return data
    items = [_v1_item(str(data.get("phase")), it) for it in data.get("items", []) if isinstance(it, dict)]
    return {**data, "version": RESULT_VERSION, "items": items}
