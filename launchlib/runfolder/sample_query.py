"""A run folder's samples through DuckDB: only the rows, columns and aggregates asked for.

The monitor writes a run's samples as Parquet parts (``samples/part-*.parquet``). Reading runs
whole into pandas costs their size in memory, and a team that keeps every rehearsal and launch
has, after a quarter, hundreds of runs and tens of millions of samples. Here every read is a
DuckDB scan of the parts with the time range and the columns pushed into it (Parquet row groups
outside the range are skipped), and cross-run figures are aggregates DuckDB computes without the
rows leaving it. One folder of Parquet parts per run is also what Spark or Trino read when one
machine is not enough (``spark.read.parquet("reports/*/samples")``).

A part that DuckDB cannot read is a :class:`RunError` naming the run's samples folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from launchlib.errors import RunError
from launchlib.runfolder.events import SAMPLES_DIR, sample_parts

__all__ = ["SampleQuery", "class_case"]

MEMORY_LIMIT = "1GB"  # DuckDB spills to disk beyond it: a quarter of runs stays within 2 GB


def _list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


class SampleQuery:
    """One DuckDB connection over run folders' samples (closed with :meth:`close`)."""

    def __init__(self, memory_limit: str = MEMORY_LIMIT, threads: int | None = None) -> None:
        self.con = duckdb.connect(
            config={"memory_limit": memory_limit, "threads": threads or os.cpu_count() or 1}
        )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> SampleQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scan(self, run_dirs: Sequence[Path | str]) -> str | None:
        """The SQL table expression reading these runs' parts (None when they have none)."""
        parts = [p for d in run_dirs for p in sample_parts(d)]
        if not parts:
            return None
        return f"read_parquet({_list(parts)}, union_by_name = true)"

    def sql(
        self, query: str, params: Sequence[Any] = (), where: Path | str = ""
    ) -> duckdb.DuckDBPyConnection:
        """Run ``query``; a damaged part is a RunError naming ``where`` (the runs' samples)."""
        try:
            return self.con.execute(query, list(params))
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0][:300]
            raise RunError(f"{where or 'samples'}: unreadable samples ({first})") from None

    def columns(self, run_dir: Path | str) -> list[str]:
        """The sample columns a run's parts hold."""
        scan = self.scan([run_dir])
        if scan is None:
            return []
        return [
            r[0]
            for r in self.sql(f"describe select * from {scan}", where=Path(run_dir) / SAMPLES_DIR).fetchall()
        ]

    def endpoints(self, run_dir: Path | str) -> list[str]:
        """The distinct endpoints a run sampled."""
        scan = self.scan([run_dir])
        if scan is None:
            return []
        rows = self.sql(f"select distinct endpoint from {scan}", where=Path(run_dir) / SAMPLES_DIR).fetchall()
        return sorted(str(r[0]) for r in rows if r[0] is not None)

    def arrays(
        self,
        run_dir: Path | str,
        columns: dict[str, str],
        start: float | None = None,
        end: float | None = None,
        classes: dict[str, int] | None = None,
    ) -> dict[str, np.ndarray]:
        """Columns of a run's samples with ``start < ts <= end``, as numpy arrays, in the order the
        parts hold them (the monitor writes them in time order; consumers must not rely on it).

        ``columns`` maps each output name to its SQL expression over the samples; with
        ``classes`` (endpoint → class index, others -1) the expression ``cls`` is available.
        """
        scan = self.scan([run_dir])
        if scan is None:
            return {name: np.array([]) for name in columns}
        where = Path(run_dir) / SAMPLES_DIR
        cond, params = ["true"], []
        if start is not None:
            cond.append("ts > ?")
            params.append(start)
        if end is not None:
            cond.append("ts <= ?")
            params.append(end)
        cls = class_case(classes or {})
        select = ", ".join(f"{expr.replace('{cls}', cls)} as {name}" for name, expr in columns.items())
        query = f"select {select} from {scan} where {' and '.join(cond)}"  # the parts' order: by time
        got = self.sql(query, params, where).fetchnumpy()
        return {name: np.asarray(got[name]) for name in columns}


def class_case(classes: dict[str, int]) -> str:
    """A SQL expression giving each endpoint's class index (-1 when it has none)."""
    if not classes:
        return "-1"
    whens = " ".join(f"when '{e.replace(chr(39), chr(39) * 2)}' then {i}" for e, i in classes.items())
    return f"(case endpoint {whens} else -1 end)"
