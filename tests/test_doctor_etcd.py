"""``podnet doctor --disk-report``: the report ``podnet disk -o json`` writes, read back and
judged against etcd's guidance (WAL fsync p99 below 10 ms, backend commit p99 below 25 ms)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podnet.doctor import diagnose
from podnet.doctor.disk import (
    BACKEND_COMMIT,
    COMMIT_P99_MS,
    FSYNC_P99_MS,
    WAL_FSYNC,
    etcd_json,
    etcd_quantile,
    summarize,
)
from podnet.doctor.etcd import read_disk_report
from podnet.doctor.finding import Finding
from podnet.doctor.histogram import LatencyHistogram
from podnet.errors import InputError
from podnet.model import build, read_texts
from tests.test_doctor_cli import podnet
from tests.test_doctor_disk import ETCD_SCRAPE

MS = 1_000_000  # ns


def report(latencies_ms: list[float], scrape: str | None = None) -> dict[str, Any]:
    """What ``podnet disk [--etcd] -o json`` writes, made by the same functions it uses."""
    hist = LatencyHistogram()
    hist.extend(int(v * MS) for v in latencies_ms)
    data = summarize("/var/lib/etcd", 2300, hist).to_json()
    if scrape is not None:
        data["etcd"] = etcd_json("3.4.23", 1000, 2.5,
                                 [etcd_quantile(scrape, WAL_FSYNC, FSYNC_P99_MS),
                                  etcd_quantile(scrape, BACKEND_COMMIT, COMMIT_P99_MS)])
    data["findings"] = []
    return data


def judge(data: dict[str, Any]) -> list[Finding]:
    rep = read_disk_report(json.dumps(data), "node1-disk.json")
    docs = read_texts([])
    return diagnose(build(docs), docs, only=["etcd-disk-slow"], disk_report=rep)


FAST = [1.0] * 990 + [4.0] * 10  # p99 about 1 ms
SLOW = [1.0] * 980 + [20.0] * 20  # p99 about 20 ms: 2% of syncs take 20 ms


def test_fast_disk_has_no_finding():
    assert judge(report(FAST)) == []
    # an etcd whose WAL fsync and backend commit stay fast: still nothing
    fast_scrape = ETCD_SCRAPE.replace("} 302", "} 307")  # no fsync above 8 ms
    assert judge(report(FAST, fast_scrape)) == []


def test_slow_fdatasync_is_an_error_with_the_numbers_and_the_fix():
    data = report(SLOW)
    (f,) = judge(data)
    assert f.check == "etcd-disk-slow" and f.severity == "error"
    assert f.file == "node1-disk.json" and f.field == "fdatasync_ms.p99"
    assert f.object == "etcd disk /var/lib/etcd"
    p99 = data["fdatasync_ms"]["p99"]
    assert p99 >= 10 and f"fdatasync p99 {p99:g} ms" in f.message
    assert f.evidence["fdatasyncMs"] == data["fdatasync_ms"]
    assert f.evidence["thresholdMs"] == {"fdatasync_ms.p99": 10.0}
    assert "SSD" in f.fix and "no other busy workload" in f.fix


def test_etcd_wal_fsync_p99_from_the_scrape_trips_it():
    # the scrape's WAL fsync p99 is 11.088 ms (tests/test_doctor_disk.py works it out) although
    # this disk's own fdatasync p99 is about 1 ms
    (f,) = judge(report(FAST, ETCD_SCRAPE))
    assert f.field == "etcd.wal_fsync.p99_ms" and "etcd WAL fsync p99 11.088 ms" in f.message
    assert f.evidence["etcdVersion"] == "3.4.23"
    assert f.evidence["p99Ms"]["etcd.backend_commit.p99_ms"] < COMMIT_P99_MS


def test_backend_commit_has_its_own_25ms_threshold():
    data = report(FAST)
    wal = {"p99_ms": 3.0, "bucket_ms": [2, 4], "observations": 500, "threshold_ms": 10,
           "verdict": "ok"}
    data["etcd"] = {"version": "3.5.9", "wal_fsync": wal,
                    "backend_commit": {**wal, "p99_ms": 20.0, "threshold_ms": 25}}
    assert judge(data) == []  # 20 ms would be slow for a WAL fsync, not for a commit
    data["etcd"]["backend_commit"]["p99_ms"] = 31.5
    (f,) = judge(data)
    assert f.field == "etcd.backend_commit.p99_ms" and "25 ms guidance" in f.message
    # etcd that observed nothing (p99 null) is not judged
    data["etcd"]["backend_commit"]["p99_ms"] = None
    assert judge(data) == []


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("fdatasync_ms"), "fdatasync_ms"),
    (lambda d: d.update(fdatasync_ms=[1, 2]), "fdatasync_ms"),
    (lambda d: d["fdatasync_ms"].pop("p99"), "fdatasync_ms.p99"),
    (lambda d: d["fdatasync_ms"].update(p99="fast"), "fdatasync_ms.p99"),
    (lambda d: d["fdatasync_ms"].update(p90=-1), "fdatasync_ms.p90"),
    (lambda d: d.update(writes=0), "writes"),
    (lambda d: d.update(verdict="fine"), "verdict"),
    (lambda d: d.update(etcd={"wal_fsync": {"p99_ms": True}}), "etcd.wal_fsync.p99_ms"),
    (lambda d: d.update(etcd="3.5"), "etcd"),
])
def test_wrong_shape_names_the_file_and_field(mutate, field):
    data = report(FAST)
    mutate(data)
    with pytest.raises(InputError) as e:
        read_disk_report(json.dumps(data), "r.json")
    assert e.value.field == field and e.value.source.file == "r.json"


def test_not_json_and_other_reports_are_refused():
    with pytest.raises(InputError, match=r"r.json.*not JSON \(line 1"):
        read_disk_report("writes: 3", "r.json")
    node_check = {"node": "vm", "findings": [], "summary": {}}  # podnet node check -o json
    with pytest.raises(InputError, match="not a 'podnet disk -o json' report"):
        read_disk_report(json.dumps(node_check), "r.json")


def test_cli_disk_report(tmp_path: Path):
    slow, fast = tmp_path / "slow.json", tmp_path / "fast.json"
    slow.write_text(json.dumps(report(SLOW)))
    fast.write_text(json.dumps(report(FAST)))
    r = podnet("doctor", "--disk-report", str(slow), "--check", "etcd-disk-slow", "-o", "json")
    assert r.returncode == 1, r.stderr
    (f,) = json.loads(r.stdout)["findings"]
    assert f["check"] == "etcd-disk-slow" and f["file"] == str(slow)
    r = podnet("doctor", "--disk-report", str(fast), "--check", "etcd-disk-slow", "-o", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["findings"] == []
    bad = tmp_path / "bad.json"
    bad.write_text('{"writes": 10029, "fdatasync_ms": {"p99": "x"}}')
    r = podnet("doctor", "--disk-report", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}" in r.stderr and "fdatasync_ms.p99" in r.stderr
    r = podnet("doctor", "--disk-report", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "--disk-report" in r.stderr and "missing.json" in r.stderr
