"""Where samples come from: a DataFrame, a CSV or Parquet file, or a Prometheus server.

Files are checked on read: the required columns, parseable timestamps (epoch seconds or
ISO-8601 with offset), at least one row. Problems raise :class:`DataError` naming the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from launchlib.errors import DataError, Problem
from launchlib.evaluation.metrics import RowArrays, classify
from launchlib.plan.model import Plan
from launchlib.runfolder.sample_query import SampleQuery

__all__ = [
    "REQUIRED",
    "engine_columns",
    "engine_rows",
    "normalise_samples",
    "parse_time",
    "read_events",
    "read_samples",
    "run_rows",
]

REQUIRED = ("ts", "endpoint", "latency_ms", "status")


def parse_time(value: str | float, where: str = "--deploy-at") -> float:
    """Epoch seconds from epoch seconds or ISO-8601 with an offset."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        pass
    else:
        if not math.isfinite(seconds):
            raise DataError([Problem(where, "", f"time {value!r} is not a finite number of seconds")])
        return seconds
    try:
        ts = pd.Timestamp(str(value))
    except ValueError:
        raise DataError(
            [Problem(where, "", f"cannot read time {value!r}: give epoch seconds or ISO-8601")]
        ) from None
    if ts.tzinfo is None:
        raise DataError([Problem(where, "", f"time {value!r} has no UTC offset (e.g. +00:00)")])
    return ts.timestamp()


def normalise_samples(df: pd.DataFrame, name: str = "samples") -> pd.DataFrame:
    """Check columns and turn ``ts`` into epoch seconds; raises DataError naming what is wrong."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError([Problem(name, c, "missing column") for c in missing])
    if df.empty:
        raise DataError([Problem(name, "", "no samples (empty table)")])
    if not pd.api.types.is_numeric_dtype(df["ts"]):
        parsed = pd.to_datetime(df["ts"], utc=True, errors="coerce", format="ISO8601")
        bad = parsed.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                [Problem(name, "ts", f"unparsable timestamp {df['ts'].iloc[row]!r} in row {row + 1}")]
            )
        df = df.assign(ts=parsed.astype("int64") / 1e9)
    if df["ts"].isna().any():
        raise DataError([Problem(name, "ts", "empty timestamp")])
    status = pd.to_numeric(df["status"], errors="coerce")
    bad_status = status.isna() | (status < 0) | (status > 999) | (status % 1 != 0)
    if bad_status.any():
        row = int(bad_status.to_numpy().nonzero()[0][0])
        raise DataError([Problem(name, "status", f"not an HTTP status (0 for no answer) in row {row + 1}")])
    raw = df["latency_ms"]
    latency = pd.to_numeric(raw, errors="coerce")
    # empty latency is allowed (no answer); text, negative and infinite latencies are not.
    # Only a text column can hold text: a numeric one is never turned into strings (10 M rows:
    # 8 s of a 10-s replay went to that)
    text = pd.Series(False, index=df.index)
    if not pd.api.types.is_numeric_dtype(raw):
        text = latency.isna() & raw.notna() & (raw.astype("string").str.strip().fillna("") != "")
    bad = text | (latency < 0) | np.isinf(latency.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            [Problem(name, "latency_ms", f"{raw.iloc[row]!r} in row {row + 1} is not a latency in ms (>= 0)")]
        )
    return df


def read_samples(path: Path | str) -> pd.DataFrame:
    """Samples from a ``.parquet`` or ``.csv`` file, validated."""
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), "", "no such file")])
    try:
        if path.suffix == ".csv":
            df = pd.read_csv(path)
        else:  # endpoint as a dictionary column: classifying it costs one lookup per distinct value
            df = pd.read_parquet(path, read_dictionary=["endpoint"])
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        reason = "empty file" if isinstance(exc, pd.errors.EmptyDataError) else str(exc).splitlines()[0]
        raise DataError([Problem(str(path), "", f"cannot read samples: {reason}")]) from None
    return normalise_samples(df, str(path))


def read_events(path: Path | str) -> list[tuple[float, str]]:
    """Events from JSON lines or a JSON list of ``{"ts": …, "event": …}``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
        items: list[Any] = (
            json.loads(text)
            if text.startswith("[")
            else [json.loads(ln) for ln in text.splitlines() if ln.strip()]
        )
    except (OSError, ValueError) as exc:  # JSON and UTF-8 decoding errors are ValueErrors
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise DataError([Problem(str(path), "", f"cannot read events: {reason}")]) from None
    out = []
    for i, ev in enumerate(items):
        if not isinstance(ev, dict) or "ts" not in ev or "event" not in ev:
            raise DataError([Problem(str(path), f"[{i}]", "an event needs 'ts' and 'event'")])
        out.append((parse_time(ev["ts"], f"{path}[{i}].ts"), str(ev["event"])))
    return out


def engine_columns(q: SampleQuery, run_dir: Path | str, plan: Plan) -> tuple[dict[str, str], dict[str, int]]:
    """The trigger engine's four columns as SQL over a run's samples (for :meth:`SampleQuery.arrays`)
    and the endpoint → class index their ``{cls}`` stands for: what :meth:`TriggerEngine.rows`
    makes of the same samples read whole (classes by prefix, the host's stalls without latency)."""
    mon = plan.monitoring
    names = sorted(set(mon.endpoint_classes.values()))
    endpoints = q.endpoints(run_dir)
    found = classify(endpoints, mon.endpoint_classes)
    index = {e: names.index(c) for e, c in zip(endpoints, found, strict=True) if c}
    latency = "coalesce(latency_ms, 'nan'::double)"
    stall = mon.max_client_stall_ms
    if stall is not None and "client_stall_ms" in q.columns(run_dir):  # the host's stall, not the service's
        latency = (
            f"case when coalesce(client_stall_ms, 0) > {float(stall)!r} then 'nan'::double else {latency} end"
        )
    return {"ts": "ts", "cls": "{cls}", "latency": latency, "status": "coalesce(status, 0)"}, index


def engine_rows(got: dict[str, np.ndarray]) -> RowArrays:
    """The arrays read with :func:`engine_columns` as the engine's rows."""
    return RowArrays(
        got["ts"].astype(float),
        got["cls"].astype(np.int64),
        got["latency"].astype(float),
        got["status"].astype(np.int64),
    )


def run_rows(
    q: SampleQuery,
    run_dir: Path | str,
    plan: Plan,
    start: float | None = None,
    end: float | None = None,
) -> RowArrays:
    """A run's samples with ``start < ts <= end`` as the trigger engine's row arrays, read by
    DuckDB from its Parquet parts (four columns, the range pushed into the scan)."""
    columns, index = engine_columns(q, run_dir, plan)
    return engine_rows(q.arrays(run_dir, columns, start, end, classes=index))
