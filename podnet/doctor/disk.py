"""The etcd disk check, pure half: sizes as fio reads them, the percentiles and the verdict of a
timed fdatasync run, and the p99s scraped from a real etcd.

Thresholds are etcd's own guidance (etcd FAQ, "What does the etcd warning 'failed to send out
heartbeat on time' mean?" and "apply entries took too long"): the 99th percentile of WAL
fsync should stay below 10 ms and of backend commit below 25 ms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from podnet.doctor.finding import Finding, host_finding
from podnet.doctor.histogram import LatencyHistogram, bucket_around, histogram_quantile, parse_buckets
from podnet.errors import UsageError

FSYNC_P99_MS = 10.0  # etcd FAQ: WAL fsync p99 below 10 ms
COMMIT_P99_MS = 25.0  # etcd FAQ: backend commit p99 below 25 ms
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))
WAL_FSYNC = "etcd_disk_wal_fsync_duration_seconds"
BACKEND_COMMIT = "etcd_disk_backend_commit_duration_seconds"

_SIZE = re.compile(r"^(\d+)([kmgt]?)(i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
MAX_SIZE = 64 << 30  # a disk check, not a fill: refuse sizes past 64 GiB


def parse_size(text: str, option: str) -> int:
    """A byte count as fio reads ``--size``/``--bs``: 22m, 22M, 22MiB are 22 * 2**20 (fio's
    default kb_base is 1024)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise UsageError(f"{option} {text!r}: write a number of bytes, optionally with k, m or g")
    value = int(m[1]) * _UNITS[m[2].lower()]
    if value <= 0 or value > MAX_SIZE:
        raise UsageError(f"{option} {text!r}: must be between 1 byte and 64g")
    return value


def write_count(size: int, bs: int) -> int:
    """Whole blocks that fit in ``size``, as fio issues them (22m / 2300 B = 10029 writes)."""
    if bs <= 0 or bs > size:
        raise UsageError(f"--bs {bs}: must be between 1 and --size ({size} bytes)")
    return size // bs


def _ms(ns: float) -> float:
    return round(ns / 1e6, 4)


@dataclass(frozen=True, slots=True)
class DiskResult:
    path: str
    writes: int
    bs: int
    fdatasync_ms: dict[str, float]  # p50, p90, p99, p99.9, max
    verdict: str  # "ok" | "slow"

    def to_json(self) -> dict[str, Any]:
        return {"writes": self.writes, "fdatasync_ms": dict(self.fdatasync_ms),
                "threshold_ms": int(FSYNC_P99_MS), "verdict": self.verdict, "path": self.path}


def verdict(p99_ms: float, threshold_ms: float = FSYNC_P99_MS) -> str:
    """etcd's guidance is "p99 less than 10 ms": at or above it the disk is slow for etcd."""
    return "ok" if p99_ms < threshold_ms else "slow"


def summarize(path: str, bs: int, hist: LatencyHistogram) -> DiskResult:
    if hist.n == 0 or hist.max is None:
        raise ValueError("no fdatasync was timed")
    ms = {name: _ms(hist.percentile(p)) for name, p in PERCENTILES}
    ms["max"] = _ms(hist.max)
    return DiskResult(path, hist.n, bs, ms, verdict(ms["p99"]))


def disk_finding(result: DiskResult) -> Finding:
    ms = result.fdatasync_ms
    evidence = (f"{result.writes} writes of {result.bs} B, each followed by fdatasync: p50 "
                f"{ms['p50']} ms, p90 {ms['p90']} ms, p99 {ms['p99']} ms, p99.9 {ms['p99.9']} ms, "
                f"max {ms['max']} ms")
    if result.verdict == "ok":
        return host_finding("etcd-disk-fdatasync", "info", result.path, "fdatasync p99",
                       f"fdatasync p99 {ms['p99']} ms is below etcd's {FSYNC_P99_MS:g} ms guidance",
                       evidence)
    return host_finding("etcd-disk-fdatasync", "error", result.path, "fdatasync p99",
                   f"fdatasync p99 {ms['p99']} ms reaches etcd's {FSYNC_P99_MS:g} ms guidance: a "
                   "member on this disk misses heartbeats and elections flap",
                   evidence, "put etcd's --data-dir (at least its WAL, --wal-dir) on a local "
                   "SSD/NVMe that no other busy workload shares")


@dataclass(frozen=True, slots=True)
class EtcdQuantile:
    metric: str
    p99_ms: float  # NaN when etcd observed nothing
    bucket_ms: tuple[float, float]  # the bucket the p99 was interpolated in
    observations: int
    threshold_ms: float

    @property
    def verdict(self) -> str:
        if math.isnan(self.p99_ms):
            return "unknown"
        return verdict(self.p99_ms, self.threshold_ms)

    def to_json(self) -> dict[str, Any]:
        p99 = None if math.isnan(self.p99_ms) else round(self.p99_ms, 4)
        high = self.bucket_ms[1]
        return {"p99_ms": p99, "bucket_ms": [self.bucket_ms[0], None if math.isinf(high) else high],
                "observations": self.observations, "threshold_ms": self.threshold_ms,
                "verdict": self.verdict}


def etcd_quantile(metrics_text: str, metric: str, threshold_ms: float) -> EtcdQuantile:
    """``histogram_quantile(0.99, <metric>_bucket)`` over one scrape of a fresh etcd (its
    counters start at zero, so the scrape is the increase over the run)."""
    buckets = parse_buckets(metrics_text, metric)
    p99 = histogram_quantile(0.99, buckets)
    observations = int(buckets[-1][1]) if buckets else 0
    if math.isnan(p99):
        return EtcdQuantile(metric, math.nan, (math.nan, math.nan), observations, threshold_ms)
    low, high = bucket_around(p99, buckets)
    return EtcdQuantile(metric, p99 * 1e3, (low * 1e3, high * 1e3), observations, threshold_ms)


def etcd_json(version: str, puts: int, seconds: float,
              quantiles: list[EtcdQuantile]) -> dict[str, Any]:
    """The ``etcd`` part of ``podnet disk --etcd -o json`` (``podnet doctor --disk-report``
    reads it back: ``podnet.doctor.etcd``)."""
    by_metric = {q.metric: q.to_json() for q in quantiles}
    return {"version": version, "puts": puts, "seconds": round(seconds, 3),
            "wal_fsync": by_metric[WAL_FSYNC], "backend_commit": by_metric[BACKEND_COMMIT]}


def etcd_findings(quantiles: list[EtcdQuantile], obj: str) -> list[Finding]:
    out = []
    for q in quantiles:
        what = "WAL fsync" if q.metric == WAL_FSYNC else "backend commit"
        low, high = q.bucket_ms
        evidence = (f"histogram_quantile(0.99, {q.metric}_bucket) over {q.observations} "
                    f"observations = {q.to_json()['p99_ms']} ms, interpolated in the "
                    f"({low:g}, {high:g}] ms bucket")
        if q.verdict == "unknown":
            out.append(host_finding(f"etcd-{what.replace(' ', '-').lower()}", "warning", obj, q.metric,
                               f"etcd observed no {what}: no p99", evidence,
                               "write more keys (--etcd-puts)"))
        elif q.verdict == "ok":
            out.append(host_finding(f"etcd-{what.replace(' ', '-').lower()}", "info", obj, q.metric,
                               f"{what} p99 {q.p99_ms:.3f} ms is below {q.threshold_ms:g} ms",
                               evidence))
        else:
            out.append(host_finding(f"etcd-{what.replace(' ', '-').lower()}", "error", obj, q.metric,
                               f"{what} p99 {q.p99_ms:.3f} ms reaches etcd's {q.threshold_ms:g} ms "
                               "guidance", evidence,
                               "move etcd's data directory to faster local storage"))
    return out
