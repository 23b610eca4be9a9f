"""etcd's disk, judged from a report ``podnet disk -o json`` wrote on a control-plane node
(``podnet doctor --disk-report FILE``): the fdatasync p99 of the seeds' fio job, and with
``--etcd`` the WAL fsync and backend commit p99s a real etcd measured, against etcd's guidance
(WAL fsync below 10 ms, backend commit below 25 ms; ``podnet.doctor.disk``). The report is read
here, field by field, so a wrong file fails with its name and the field, not later."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from podnet.doctor.context import Context
from podnet.doctor.disk import COMMIT_P99_MS, FSYNC_P99_MS, verdict
from podnet.doctor.finding import Finding, check
from podnet.errors import InputError, SourceRef

QUANTILES = ("p50", "p90", "p99", "p99.9", "max")


@dataclass(frozen=True, slots=True)
class Measured:
    """One p99 and where in the report it came from."""

    what: str  # "fdatasync", "etcd WAL fsync", "etcd backend commit"
    field: str  # its path in the report
    p99_ms: float
    threshold_ms: float

    @property
    def slow(self) -> bool:
        return verdict(self.p99_ms, self.threshold_ms) == "slow"


@dataclass(frozen=True, slots=True)
class DiskReport:
    file: str
    path: str  # the directory podnet disk tested
    writes: int
    fdatasync_ms: Mapping[str, float]
    verdict: str
    etcd_version: str
    measured: tuple[Measured, ...]

    @property
    def source(self) -> SourceRef:
        return SourceRef(file=self.file)


def _number(value: Any, src: SourceRef, field: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise InputError(src, field, f"{value!r} is not a latency in milliseconds (a number, "
                                     "zero or more)")
    return float(value)


def _object(value: Any, src: SourceRef, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InputError(src, field, f"expected an object, got {type(value).__name__}")
    return value


def read_disk_report(text: str, file: str) -> DiskReport:
    """The JSON ``podnet disk -o json`` writes, checked field by field."""
    src = SourceRef(file=file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(src, "", f"not JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                                  "give the output of 'podnet disk -o json'") from None
    if not isinstance(data, dict) or "fdatasync_ms" not in data:
        raise InputError(src, "fdatasync_ms", "missing: this is not a 'podnet disk -o json' "
                                              "report")
    fds = _object(data["fdatasync_ms"], src, "fdatasync_ms")
    if "p99" not in fds:
        raise InputError(src, "fdatasync_ms.p99", "missing: the report has no p99")
    ms: dict[str, float] = {}
    for q in QUANTILES:
        v = _number(fds.get(q), src, f"fdatasync_ms.{q}", optional=q != "p99")
        if v is not None:
            ms[q] = v
    writes = data.get("writes")
    if isinstance(writes, bool) or not isinstance(writes, int) or writes <= 0:
        raise InputError(src, "writes", f"{writes!r} is not a count of writes (1 or more)")
    path = data.get("path", "")
    if not isinstance(path, str):
        raise InputError(src, "path", f"{path!r} is not a directory name")
    said = data.get("verdict", "")
    if said not in ("", "ok", "slow"):
        raise InputError(src, "verdict", f"{said!r} is not ok or slow")
    measured = [Measured("fdatasync", "fdatasync_ms.p99", ms["p99"], FSYNC_P99_MS)]
    version = ""
    if data.get("etcd") is not None:
        etcd = _object(data["etcd"], src, "etcd")
        version = str(etcd.get("version") or "")
        for key, what, threshold in (("wal_fsync", "etcd WAL fsync", FSYNC_P99_MS),
                                     ("backend_commit", "etcd backend commit", COMMIT_P99_MS)):
            if etcd.get(key) is None:
                continue
            field = f"etcd.{key}.p99_ms"
            # null: etcd observed nothing, so there is no p99 to judge
            p99 = _number(_object(etcd[key], src, f"etcd.{key}").get("p99_ms"), src, field,
                          optional=True)
            if p99 is not None:
                measured.append(Measured(what, field, p99, threshold))
    return DiskReport(file, path, writes, ms, said, version, tuple(measured))


@check("etcd-disk-slow",
       summary="etcd's disk is too slow (a 'podnet disk' report: WAL fsync p99 at or over 10 ms, "
               "backend commit p99 at or over 25 ms): heartbeats are missed and leaders flap.",
       example="etcd disk /var/lib/etcd: fdatasync p99 14.2 ms reaches etcd's 10 ms guidance: "
               "heartbeats miss, leader elections flap, the API server stalls")
def etcd_disk_slow(ctx: Context) -> Iterator[Finding]:
    report = ctx.disk_report
    if report is None:
        return
    slow = [m for m in report.measured if m.slow]
    if not slow:
        return
    said = "; ".join(f"{m.what} p99 {m.p99_ms:g} ms reaches etcd's {m.threshold_ms:g} ms guidance"
                     for m in slow)
    where = report.path or report.file
    yield Finding(
        "etcd-disk-slow", "error", f"etcd disk {where}", report.source, slow[0].field,
        f"{said}: an etcd member whose disk syncs this slowly misses heartbeats, its leader "
        "elections flap (the network looks like it flaps), and the API server stalls, so "
        "Endpoints, NetworkPolicies and kube-proxy's rules stop updating",
        {"path": report.path, "writes": report.writes, "fdatasyncMs": dict(report.fdatasync_ms),
         "p99Ms": {m.field: m.p99_ms for m in report.measured},
         "thresholdMs": {m.field: m.threshold_ms for m in report.measured},
         "reportVerdict": report.verdict or None, "etcdVersion": report.etcd_version or None},
        "give etcd a faster disk of its own: its data directory (at least --wal-dir) on a local "
        "NVMe or SSD that no other busy workload shares, not a spinning disk or network/SAN "
        "storage whose latency varies; then measure again with "
        f"'podnet disk {report.path or '/var/lib/etcd'} --etcd'")
