"""Thresholds and rollback-trigger conditions as data, and reading them from plan phrases.

A threshold is ``metric op value`` with a unit (``p95_latency_ms < 200``); a trigger
condition says which metric over which endpoint classes is compared, per the trigger
engine's semantics. ``parse_threshold`` turns the seed's phrases (``Error rate > 5%``,
``API response time < 200ms (95th percentile)``, ``Data processing < 5 seconds``) into numbers.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "Condition",
    "ConditionMetric",
    "Op",
    "Threshold",
    "Unit",
    "parse_threshold",
    "slug",
]


class Op(StrEnum):
    """Comparison operator of a threshold."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def holds(self, value: Any, threshold: float) -> Any:
        """Whether ``value op threshold`` holds; elementwise for NumPy arrays."""
        return _OPS[self](value, threshold)


_OPS: dict[Op, Callable[[Any, float], Any]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


class Unit(StrEnum):
    """Unit of a threshold value: milliseconds, seconds, a ratio in [0, 1], a count."""

    MS = "ms"
    S = "s"
    RATIO = "ratio"
    COUNT = "count"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """A numeric pass condition, e.g. ``p95_latency_ms < 200`` (unit ms)."""

    metric: str
    op: Op
    value: float
    unit: Unit

    @model_validator(mode="after")
    def _in_range(self) -> Threshold:
        _check_range(self.value, self.unit, degradation=self.metric.endswith("degradation"))
        return self

    def holds(self, value: float) -> bool:
        """Whether a measured value meets this threshold."""
        return self.op.holds(value, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op.value} {self.value:g}"


def _check_range(value: float, unit: Unit | None, degradation: bool = False) -> None:
    """A threshold's value must make sense in its unit (a ratio of 50 is a typo for 0.5)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"threshold {value} is not a finite number")
    if value < 0:
        raise ValueError(f"threshold {value:g} must not be negative")
    if unit is Unit.RATIO and value > 1 and not degradation:
        raise ValueError(f"a ratio threshold must be within [0, 1], got {value:g} (50 % is 0.5)")


class ConditionMetric(StrEnum):
    """What a rollback-trigger condition measures over its window."""

    SUCCESS_RATIO = "success_ratio"  # share of samples that got a non-5xx response
    FAILURE_RATIO = "failure_ratio"  # share of samples with status 0 or >= 500
    LATENCY_P95_MS = "latency_p95_ms"  # p95 latency of answered samples
    LATENCY_P95_DEGRADATION = "latency_p95_degradation"  # p95 / baseline p95 - 1
    STATUS_COUNT = "status_count"  # samples with exactly ``status``
    OK_COUNT = "ok_count"  # samples with a 2xx status
    SINCE_LAST_SAMPLE_S = "since_last_sample_s"  # seconds since the last answered sample (of classes)
    EVENT = "event"  # an external event (e.g. a security alert)
    MANUAL = "manual"  # raised by a person only


_NEEDS_CLASSES = {
    ConditionMetric.SUCCESS_RATIO,
    ConditionMetric.FAILURE_RATIO,
    ConditionMetric.LATENCY_P95_MS,
    ConditionMetric.LATENCY_P95_DEGRADATION,
    ConditionMetric.STATUS_COUNT,
    ConditionMetric.OK_COUNT,
}


class Condition(_Strict):
    """A machine-readable rollback-trigger condition; window and ``for`` default to the plan's."""

    metric: ConditionMetric
    classes: tuple[str, ...] = ()
    op: Op | None = None
    threshold: float | None = None
    unit: Unit | None = None
    status: int | None = None
    event: str | None = None
    window_s: float | None = None
    for_s: float | None = None
    min_change_ms: float | None = None  # a degradation must also add this much p95, in ms

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.metric in (ConditionMetric.EVENT, ConditionMetric.MANUAL):
            if self.metric is ConditionMetric.EVENT and not self.event:
                raise ValueError("an event condition needs 'event'")
            return self
        if self.op is None:
            raise ValueError(f"missing operator 'op' for metric {self.metric.value}")
        if self.threshold is None:
            raise ValueError(f"missing threshold for metric {self.metric.value}")
        if self.metric in _NEEDS_CLASSES and not self.classes:
            raise ValueError(f"metric {self.metric.value} needs 'classes'")
        if self.metric is ConditionMetric.STATUS_COUNT and self.status is None:
            raise ValueError("metric status_count needs 'status'")
        if self.min_change_ms is not None and self.metric is not ConditionMetric.LATENCY_P95_DEGRADATION:
            raise ValueError("min_change_ms applies to latency_p95_degradation only")
        _check_range(self.threshold, self.unit, self.metric is ConditionMetric.LATENCY_P95_DEGRADATION)
        if (
            self.metric in (ConditionMetric.SUCCESS_RATIO, ConditionMetric.FAILURE_RATIO)
            and self.threshold > 1
        ):
            raise ValueError(f"a {self.metric.value} threshold must be within [0, 1], got {self.threshold:g}")
        for name in ("window_s", "for_s"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be > 0, got {v:g}")
        if self.window_s is not None and self.for_s is not None and self.for_s > self.window_s:
            raise ValueError(f"for_s {self.for_s:g} must not exceed window_s {self.window_s:g}")
        if self.min_change_ms is not None and self.min_change_ms < 0:
            raise ValueError(f"min_change_ms must not be negative, got {self.min_change_ms:g}")
        return self

    def holds(self, value: Any) -> Any:
        """``value op threshold`` (elementwise for arrays); only for thresholded metrics."""
        if self.op is None or self.threshold is None:
            raise ValueError(f"condition {self.metric.value} has no threshold to compare with")
        return self.op.holds(value, self.threshold)

    def describe(self) -> str:
        """Short human form, e.g. ``failure_ratio[trading] > 0.01``."""
        if self.metric is ConditionMetric.EVENT:
            return f"event {self.event}"
        if self.metric is ConditionMetric.MANUAL:
            return "manual"
        cls = f"[{','.join(self.classes)}]" if self.classes else ""
        st = f"{{status={self.status}}}" if self.status is not None else ""
        op = self.op.value if self.op else "?"
        return f"{self.metric.value}{cls}{st} {op} {self.threshold:g}"


def slug(text: str, max_words: int = 6) -> str:
    """Identifier from free text: ``Final system health check`` -> ``final_system_health_check``."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "_".join(words[:max_words]) or "item"


# subject phrase (lower case, substring) -> metric name and whether it is a latency
_SUBJECTS: list[tuple[str, str]] = [
    ("api response time", "p95_latency_ms"),
    ("response time", "p95_latency_ms"),
    ("error rate", "error_rate"),
    ("uptime", "uptime"),
    ("availability", "availability"),
    ("trading execution", "trading_execution_ms"),
    ("risk calculation", "risk_calculation_ms"),
    ("data processing", "data_processing_ms"),
    ("performance degradation", "latency_p95_degradation"),
]

# an operator and its number (linear: no lazy group ahead of the operator to backtrack over)
_OP_NUMBER = re.compile(
    r"(?P<op><=|>=|<|>)\s*(?P<num>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>ms|milliseconds?|%|s\b|secs?\b|seconds?|minutes?|mins?\b)?"
    r"(?:\s*\((?P<pct>\d+)(?:st|nd|rd|th)\s+percentile\))?",
    re.IGNORECASE,
)
_SUBJECT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ /-")
_SUBJECT_MAX = 120  # a subject phrase is a few words; never scan further back than this


def _subject(text: str, end: int) -> str:
    """The run of letters, spaces, '/' and '-' just before ``end`` (the operator), from a letter."""
    start = end
    while start > 0 and end - start < _SUBJECT_MAX and text[start - 1] in _SUBJECT_CHARS:
        start -= 1
    run = text[start:end]
    first = next((i for i, ch in enumerate(run) if ch.isalpha()), len(run))
    return run[first:]


def parse_threshold(text: str) -> Threshold | None:
    """Read a threshold phrase such as ``Error rate < 1%``; ``None`` when the text has none.

    Percentages become ratios (5% -> 0.05), seconds and minutes become milliseconds for
    ``*_ms`` metrics, and a latency with ``(99th percentile)`` is named ``p99_latency_ms``.
    Unknown subjects get a metric slug with a unit suffix.
    """
    m = _OP_NUMBER.search(text)
    if m is None:
        return None
    subject = _subject(text, m.start()).strip().lower()
    value = float(m["num"])
    raw_unit = (m["unit"] or "").lower()
    metric = next((name for key, name in _SUBJECTS if key in subject), None)
    if raw_unit == "%":
        value, unit = value / 100.0, Unit.RATIO
    elif raw_unit.startswith(("ms", "milli")):
        unit = Unit.MS
    elif raw_unit.startswith("min"):
        value, unit = value * 60_000.0, Unit.MS
    elif raw_unit.startswith("s"):
        value, unit = value * 1000.0, Unit.MS
    else:
        unit = Unit.COUNT
    if metric is None:
        metric = slug(subject, 4) + ("_ms" if unit is Unit.MS else "")
    if m["pct"] and metric.endswith("latency_ms"):
        metric = f"p{m['pct']}_latency_ms"
    return Threshold(metric=metric, op=Op(m["op"]), value=round(value, 9), unit=unit)
