"""Windowed metrics over sample tables, vectorised: counts, ratios and latency quantiles.

Samples after the deploy are summed into buckets of one evaluation interval (bucket ``k``
holds ``(deploy + (k-1)·I, deploy + k·I]``); a window is a difference of cumulative sums
over buckets, so long launches cost one pass over the rows. Latency quantiles come from
log-linear histograms: 64 sub-buckets per power of two, value = bucket midpoint, relative
error at most 1/128 ≈ 0.8 % of the exact sample at that rank (see :func:`hist_bin`).
Samples before the deploy feed the baseline histograms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "SUB_BUCKETS",
    "Aggregates",
    "RowArrays",
    "bin_value",
    "classify",
    "hist_bin",
    "hist_quantile",
    "stalled",
    "to_rows",
]

SUB_BUCKETS = 64
_EMIN, _EMAX = -10, 22  # 2^-11 ms … 2^22 ms (about 70 minutes)
N_BINS = (_EMAX - _EMIN + 1) * SUB_BUCKETS


def hist_bin(latency_ms: np.ndarray) -> np.ndarray:
    """Histogram bin of each latency: exponent and 64 linear steps within its power of two."""
    x = np.clip(latency_ms, 2.0**_EMIN * 0.5, 2.0**_EMAX * 0.999)
    mant, exp = np.frexp(x)  # x = mant · 2^exp, mant in [0.5, 1)
    sub = ((mant - 0.5) * (2 * SUB_BUCKETS)).astype(np.int64)
    return (exp.astype(np.int64) - _EMIN) * SUB_BUCKETS + np.minimum(sub, SUB_BUCKETS - 1)


def bin_value(idx: np.ndarray) -> np.ndarray:
    """Midpoint latency (ms) of histogram bins."""
    idx = np.asarray(idx)
    exp = idx // SUB_BUCKETS + _EMIN
    sub = idx % SUB_BUCKETS
    return np.ldexp(0.5 + (sub + 0.5) / (2 * SUB_BUCKETS), exp)


def hist_quantile(hist: np.ndarray, q: float) -> np.ndarray:
    """Nearest-rank quantile of each histogram row (NaN where a row is empty)."""
    hist = np.atleast_2d(hist)
    cum = np.cumsum(hist, axis=1)
    n = cum[:, -1]
    rank = np.maximum(np.ceil(q * n), 1)
    idx = np.argmax(cum >= rank[:, None], axis=1)
    out = bin_value(idx).astype(float)
    out[n == 0] = np.nan
    return out


def classify(endpoints: Sequence[str] | np.ndarray, classes: Mapping[str, str]) -> np.ndarray:
    """Class name of each endpoint by longest matching prefix ('' when none matches)."""
    prefixes = sorted(classes, key=len, reverse=True)
    uniq, inverse = np.unique(np.asarray(endpoints, dtype=object).astype(str), return_inverse=True)
    names = [
        next((classes[p] for p in prefixes if u == p or u.startswith(p.rstrip("/") + "/")), "") for u in uniq
    ]
    return np.asarray(names, dtype=object)[inverse]


@dataclass
class RowArrays:
    """Sample columns as arrays: epoch seconds, class index, latency (NaN: none), status."""

    ts: np.ndarray
    cls: np.ndarray
    latency: np.ndarray
    status: np.ndarray


def stalled(df: pd.DataFrame, max_stall_ms: float | None) -> np.ndarray:
    """Which samples were measured while the host held the measurement up longer than
    ``max_stall_ms`` (``client_stall_ms``: the monitor's loop or the embedded simulator's): their
    latency is the host's, not the service's. All false without a limit or without the column."""
    if max_stall_ms is None or "client_stall_ms" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    stall = pd.to_numeric(df["client_stall_ms"], errors="coerce").to_numpy(dtype=float, na_value=0.0)
    return stall > max_stall_ms


def to_rows(
    df: pd.DataFrame,
    class_names: Sequence[str],
    classes: Mapping[str, str],
    max_stall_ms: float | None = None,
) -> RowArrays:
    """Validated arrays from a samples table; class index -1 for unclassified endpoints.

    With ``max_stall_ms``, a sample whose client was held up longer than that while it waited
    (``client_stall_ms``, when the table has it) keeps its status but loses its latency: the
    measurement is the monitoring host's, not the service's."""
    ts = df["ts"]
    if not pd.api.types.is_numeric_dtype(ts):
        ts = pd.to_datetime(ts, utc=True, format="ISO8601").astype("int64") / 1e9
    lookup = {n: i for i, n in enumerate(class_names)}
    endpoint = df["endpoint"]
    if isinstance(endpoint.dtype, pd.CategoricalDtype):
        codes, uniques = endpoint.cat.codes.to_numpy(), np.asarray(endpoint.cat.categories, dtype=object)
    else:
        codes, uniques = pd.factorize(endpoint.to_numpy(), use_na_sentinel=True)
    per_unique = np.array(
        [lookup.get(n, -1) for n in classify(np.asarray(uniques, dtype=object), classes)] + [-1],
        dtype=np.int64,
    )  # the extra -1 serves missing endpoints (code -1)
    cls = per_unique[codes]
    lat = pd.to_numeric(df["latency_ms"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat = np.where(stalled(df, max_stall_ms), np.nan, lat)
    status_col = df["status"]
    if pd.api.types.is_integer_dtype(status_col) and not status_col.hasnans:
        status = status_col.to_numpy(dtype=np.int64)
    else:
        status = pd.to_numeric(status_col, errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    return RowArrays(np.asarray(ts, dtype=float), cls, lat, status)


@dataclass
class Aggregates:
    """Per-bucket sums since the deploy, plus baseline histograms; grows as rows arrive."""

    deploy_at: float
    interval_s: float
    class_names: list[str]
    statuses: tuple[int, ...] = ()
    latency_classes: tuple[int, ...] = ()  # class indices that keep latency histograms
    restart_at: float | None = None  # answers from here to the deploy are the restart's: no baseline
    chunk_rows: int = 1_000_000
    total: np.ndarray = field(init=False)
    failed: np.ndarray = field(init=False)
    ok: np.ndarray = field(init=False)
    by_status: dict[int, np.ndarray] = field(init=False)
    hist: np.ndarray = field(init=False)
    last_ts: np.ndarray = field(init=False)
    last_answered: np.ndarray = field(init=False)  # (bucket, class): newest answered sample
    base_last_answered: np.ndarray = field(init=False)
    base_hist: np.ndarray = field(init=False)
    base_last_ts: float = -np.inf
    base_first_ts: float = np.inf
    rows: int = 0
    _cum: dict[tuple[int, ...], np.ndarray] = field(init=False, default_factory=dict)
    _quantiles: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        c = len(self.class_names)
        self.total = np.zeros((1, c), np.int64)
        self.failed = np.zeros((1, c), np.int64)
        self.ok = np.zeros((1, c), np.int64)
        self.by_status = {s: np.zeros((1, c), np.int64) for s in self.statuses}
        self.slot = {ci: i for i, ci in enumerate(self.latency_classes)}
        self.hist = np.zeros((1, len(self.latency_classes), N_BINS), np.int32)
        self.last_ts = np.full(1, -np.inf)
        self.last_answered = np.full((1, c), -np.inf)
        self.base_last_answered = np.full(c, -np.inf)
        self.base_hist = np.zeros((len(self.latency_classes), N_BINS), np.int64)

    def slots(self, class_idx: Sequence[int]) -> list[int]:
        """Histogram slots of these classes (each must be one of ``latency_classes``)."""
        return [self.slot[c] for c in class_idx]

    @property
    def buckets(self) -> int:
        """Number of bucket rows (bucket 0 is unused: nothing after the deploy lands there)."""
        return self.total.shape[0]

    def _grow(self, need: int) -> None:
        if need <= self.buckets:
            return
        new = max(need, 2 * self.buckets)

        def pad(a: np.ndarray, fill: float = 0) -> np.ndarray:
            extra = np.full((new - a.shape[0], *a.shape[1:]), fill, dtype=a.dtype)
            return np.concatenate([a, extra])

        self.total, self.failed, self.ok = pad(self.total), pad(self.failed), pad(self.ok)
        self.by_status = {s: pad(a) for s, a in self.by_status.items()}
        self.hist = pad(self.hist)
        self.last_ts = pad(self.last_ts, -np.inf)
        self.last_answered = pad(self.last_answered, -np.inf)

    def add(self, r: RowArrays) -> None:
        """Fold rows into the buckets (any order, any batch size: sums commute).

        Rows go in chunks so that temporaries stay small whatever the table's size.
        """
        for lo in range(0, len(r.ts), self.chunk_rows):
            hi = lo + self.chunk_rows
            self._add(RowArrays(r.ts[lo:hi], r.cls[lo:hi], r.latency[lo:hi], r.status[lo:hi]))

    def _hist(self, key: np.ndarray, cls: np.ndarray, lat: np.ndarray, size: int) -> np.ndarray:
        """Latency histograms of the histogram classes: shape (size, slots, bins)."""
        out = np.zeros((size, len(self.latency_classes), N_BINS), np.int64)
        for ci, slot in self.slot.items():
            m = cls == ci
            if m.any():
                idx = key[m] * N_BINS + hist_bin(lat[m])
                out[:, slot, :] = np.bincount(idx, minlength=size * N_BINS).reshape(size, N_BINS)
        return out

    def _add(self, r: RowArrays) -> None:
        if len(r.ts) == 0:
            return
        self._cum.clear()  # cumulative histograms (batch evaluation) are stale from here
        self._quantiles.clear()
        self.rows += len(r.ts)
        c = len(self.class_names)
        before = r.ts <= self.deploy_at
        if before.any():
            self.base_last_ts = max(self.base_last_ts, float(r.ts[before].max()))
            self.base_first_ts = min(self.base_first_ts, float(r.ts[before].min()))
            ans = before & (r.status > 0) & (r.cls >= 0)
            np.maximum.at(self.base_last_answered, r.cls[ans], r.ts[ans])
            m = before & ~np.isnan(r.latency) & (r.status > 0)
            if self.restart_at is not None:  # the restart's quick 503s are neither release at work
                m &= r.ts <= self.restart_at
            self.base_hist += self._hist(np.zeros(int(m.sum()), np.int64), r.cls[m], r.latency[m], 1)[0]
        after = ~before
        if not after.any():
            return
        ts, cls, lat, st = r.ts[after], r.cls[after], r.latency[after], r.status[after]
        b = np.ceil((ts - self.deploy_at) / self.interval_s).astype(np.int64)
        nb = int(b.max()) + 1
        self._grow(nb)
        self._max_last(b, ts)
        known = cls >= 0
        b, cls, lat, st = b[known], cls[known], lat[known], st[known]
        key = b * c + cls
        size = nb * c

        def count(mask: np.ndarray | None = None) -> np.ndarray:
            k = key if mask is None else key[mask]
            return np.bincount(k, minlength=size).reshape(nb, c)

        failed = (st == 0) | (st >= 500)
        self.total[:nb] += count()
        self.failed[:nb] += count(failed)
        self.ok[:nb] += count((st >= 200) & (st < 300))
        for s, arr in self.by_status.items():
            arr[:nb] += count(st == s)
        answered = ~np.isnan(lat) & (st > 0)
        np.maximum.at(self.last_answered, (b[st > 0], cls[st > 0]), ts[known][st > 0])
        first = int(b.min())  # a chunk covers few buckets: histogram only those
        self.hist[first:nb] += self._hist(
            b[answered] - first, cls[answered], lat[answered], nb - first
        ).astype(np.int32)

    def _max_last(self, b: np.ndarray, ts: np.ndarray) -> None:
        """Latest sample time per bucket (exact; one pass when rows come sorted by time)."""
        if len(ts) > 1 and not np.all(ts[1:] >= ts[:-1]):
            order = np.argsort(ts, kind="stable")
            b, ts = b[order], ts[order]
        last = np.r_[b[1:] != b[:-1], True]
        self.last_ts[b[last]] = np.maximum(self.last_ts[b[last]], ts[last])

    def window_quantile(
        self, slots: list[int], ks: np.ndarray, width: int, q: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``q``-quantile of these slots' latency over each window, and its sample count.

        In a batch over the whole run, kept: what-if variants that scale only thresholds or
        ``for`` share their windows' quantiles (a 27-variant grid has three windows)."""
        key = (tuple(slots), int(ks[0]), int(ks[-1]), len(ks), width, q)
        if key in self._quantiles:
            return self._quantiles[key]
        hist = self.window_sum(self.hist, ks, width, slots)
        out = (hist_quantile(hist, q), hist.sum(axis=1))
        if int(ks.min()) - width + 1 <= 0:  # a batch (the live monitor's windows move on)
            self._quantiles[key] = out
        return out

    def window_sum(
        self, arr: np.ndarray, ks: np.ndarray, width: int, slots: list[int] | None = None
    ) -> np.ndarray:
        """Sum of ``arr`` over buckets (k - width, k] for each evaluation k (k >= 1).

        With ``slots``, ``arr`` is the histogram array and only those slots are summed. Only the
        buckets the windows cover are touched: an evaluation costs the same at T+1h as at T+1m
        (it shares the monitor's process with the sampler, so its time would show as latency).
        """
        first = max(int(ks.min()) - width + 1, 0)
        last = min(int(ks.max()), arr.shape[0] - 1)
        if first == 0 and slots is not None and arr is self.hist:
            # a batch over the whole run (replay, what-if): the histograms' running sum does not
            # depend on the window, so every trigger and variant over these classes shares it
            key = tuple(slots)
            if key not in self._cum:
                part = self.hist[:, slots, :].sum(axis=1)
                self._cum[key] = np.concatenate(
                    [np.zeros((1, part.shape[1]), np.int64), np.cumsum(part, axis=0)]
                )
            cum, size = self._cum[key], arr.shape[0]
        else:
            part = arr[first : last + 1]
            if slots is not None:
                part = part[:, slots, :].sum(axis=1)
            cum = np.concatenate([np.zeros((1, *part.shape[1:]), np.int64), np.cumsum(part, axis=0)])
            size = len(part)
        hi = np.clip(ks - first + 1, 0, size)
        lo = np.clip(ks - width - first + 1, 0, None)
        lo = np.minimum(lo, hi)
        out: np.ndarray = cum[hi] - cum[lo]
        return out
