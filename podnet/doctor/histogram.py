"""Latency histograms two ways: the log-linear one ``podnet disk`` fills with fdatasync times, and
Prometheus' cumulative ``_bucket`` series as etcd exposes them, read with PromQL's
``histogram_quantile`` semantics.

The log-linear histogram keeps 64 equal sub-buckets per power of two (values below 128 ns are
kept exactly), so a reported percentile is within 1/64 (1.6 %) of the sample it stands for,
in constant memory however many writes are timed; the exact maximum is kept beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SUB_BITS = 6
SUB = 1 << SUB_BITS  # sub-buckets per power of two


def bucket_index(value: int) -> int:
    """Bucket of a non-negative integer: exact below 2*SUB, then SUB buckets per octave."""
    if value < 0:
        raise ValueError(f"negative latency {value}")
    shift = max(0, value.bit_length() - SUB_BITS - 1)
    return shift * SUB + (value >> shift)


def bucket_bounds(index: int) -> tuple[int, int]:
    """[low, high] inclusive of the integers that fall in bucket ``index``."""
    shift = max(0, index // SUB - 1)
    low = (index - shift * SUB) << shift
    return low, low + (1 << shift) - 1


@dataclass(slots=True)
class LatencyHistogram:
    counts: dict[int, int] = field(default_factory=dict)
    n: int = 0
    min: int | None = None
    max: int | None = None

    def add(self, value: int) -> None:
        i = bucket_index(value)
        self.counts[i] = self.counts.get(i, 0) + 1
        self.n += 1
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)

    def extend(self, values: Iterable[int]) -> None:
        for v in values:
            self.add(v)

    def percentile(self, p: float) -> float:
        """The nearest-rank ``p``-th percentile (0 < p <= 100): the sample with rank
        ceil(p/100 * n), as the middle of its bucket, clamped to the observed min and max."""
        if not 0 < p <= 100:
            raise ValueError(f"percentile {p} is outside (0, 100]")
        if self.n == 0 or self.min is None or self.max is None:
            raise ValueError("no samples")
        rank = max(1, math.ceil(p / 100 * self.n - 1e-9))
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                low, high = bucket_bounds(i)
                return min(max((low + high) / 2, self.min), self.max)
        return float(self.max)  # unreachable: the counts sum to n


# --- Prometheus classic histograms -------------------------------------------------------------

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_buckets(text: str, metric: str) -> list[tuple[float, float]]:
    """The ``metric_bucket`` samples of a Prometheus text exposition as (le, count), summed over
    every other label, like ``sum by (le)`` (one etcd exposes one series per bucket)."""
    sums: dict[float, float] = {}
    want = f"{metric}_bucket"
    for line in text.splitlines():
        if not line.startswith(want):
            continue
        m = _SAMPLE.match(line)
        if not m or m["name"] != want:
            continue
        labels = dict(_LABEL.findall(m["labels"] or ""))
        if "le" not in labels:
            continue
        le = float(labels["le"])
        sums[le] = sums.get(le, 0.0) + float(m["value"])
    return sorted(sums.items())


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """PromQL's ``histogram_quantile`` over classic buckets (upper bound ``le``, cumulative count).

    The rank q*total is found in the first bucket whose count reaches it and interpolated
    linearly inside that bucket, the lowest bucket starting at 0 (or being returned whole when
    its bound is <= 0); a rank in the +Inf bucket answers the highest finite bound. Buckets of
    equal bound are merged, counts that decrease are raised to the one before (a scrape racing
    an update), and no +Inf bucket, fewer than two buckets or no observations give NaN."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for le, count in buckets:
        merged[le] = merged.get(le, 0.0) + count
    bounds = sorted(merged)
    if not bounds or not math.isinf(bounds[-1]) or bounds[-1] < 0 or len(bounds) < 2:
        return math.nan
    counts: list[float] = []
    for le in bounds:
        counts.append(max(merged[le], counts[-1]) if counts else merged[le])
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = next((i for i in range(len(bounds) - 1) if counts[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    if count == 0:  # q = 0 on an empty lowest bucket: PromQL's 0/0
        return math.nan
    return start + (end - start) * (rank / count)


def bucket_around(value: float, buckets: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """The (lower, upper] bounds of the bucket a quantile was interpolated in: a scraped p99
    is only known to lie there."""
    lower = 0.0
    for le, _ in sorted(buckets):
        if value <= le:
            return lower, le
        lower = le
    return lower, math.inf
