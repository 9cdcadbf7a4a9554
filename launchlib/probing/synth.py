"""Synthetic sample tables: steady traffic with faults painted on, for backtests and benchmarks.

Real recorded samples are the better input; these let a team (and the test suite) check
what the triggers do on a known shape without running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ENDPOINTS", "Paint", "synthetic_samples"]

#: endpoint, median latency (ms), normal status
ENDPOINTS: tuple[tuple[str, float, int], ...] = (
    ("/health", 2.0, 200),
    ("/api/market", 30.0, 200),
    ("/api/orders", 20.0, 201),
    ("/api/risk", 55.0, 200),
    ("/api/integrity", 8.0, 200),
    ("/admin/config", 3.0, 401),
)


@dataclass(frozen=True)
class Paint:
    """Between ``start`` and ``end`` (seconds from the table's start), change some rows.

    ``share`` of the rows of ``endpoints`` (prefixes; all when empty) get ``status`` (and no
    latency when it is 0), their latency multiplied by ``factor`` and ``add_ms`` added.
    """

    start: float
    end: float
    endpoints: tuple[str, ...] = ()
    share: float = 1.0
    status: int | None = None
    factor: float = 1.0
    add_ms: float = 0.0
    drop: bool = False  # remove the rows altogether (a gap in monitoring)


def synthetic_samples(
    duration_s: float,
    rate: float,
    paints: Sequence[Paint] = (),
    t0: float = 0.0,
    seed: int = 1,
    sigma: float = 0.25,
) -> pd.DataFrame:
    """Open-loop samples at ``rate``/s round-robin over :data:`ENDPOINTS`, with faults painted."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate)
    ts = np.arange(n) / rate
    which = np.arange(n) % len(ENDPOINTS)
    names = np.array([e[0] for e in ENDPOINTS], dtype=object)[which]
    median = np.array([e[1] for e in ENDPOINTS])[which]
    status = np.array([e[2] for e in ENDPOINTS], dtype=np.int64)[which]
    latency = median * np.exp(rng.normal(0.0, sigma, n))
    keep = np.ones(n, bool)
    for p in paints:
        m = (ts >= p.start) & (ts < p.end)
        if p.endpoints:
            m &= np.isin(names, list(p.endpoints)) | np.any(
                [np.char.startswith(names.astype(str), e) for e in p.endpoints], axis=0
            )
        if p.share < 1.0:
            m &= rng.random(n) < p.share
        latency[m] = latency[m] * p.factor + p.add_ms
        if p.status is not None:
            status[m] = p.status
            if p.status == 0:
                latency[m] = np.nan
        if p.drop:
            keep &= ~m
    return pd.DataFrame(
        {"ts": t0 + ts[keep], "endpoint": names[keep], "latency_ms": latency[keep], "status": status[keep]}
    )
