"""The etcd disk check's pure half: sizes, the latency histogram and its percentiles, the
verdict, and PromQL's histogram_quantile over etcd's buckets."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.doctor.disk import (
    BACKEND_COMMIT,
    WAL_FSYNC,
    disk_finding,
    etcd_findings,
    etcd_quantile,
    parse_size,
    summarize,
    verdict,
    write_count,
)
from podnet.doctor.histogram import (
    LatencyHistogram,
    bucket_around,
    bucket_bounds,
    bucket_index,
    histogram_quantile,
    parse_buckets,
)
from podnet.errors import UsageError

MS = 1_000_000  # ns


def nearest_rank(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered) - 1e-9)) - 1]


# --- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("22m", 22 * 2**20), ("22M", 22 * 2**20),
                                              ("22MiB", 22 * 2**20), ("2300", 2300),
                                              ("4k", 4096), ("1g", 2**30)])
def test_sizes_read_as_fio_reads_them(text, value):
    assert parse_size(text, "--size") == value


@pytest.mark.parametrize("text", ["", "22x", "-1", "0", "1.5m", "65g", "m"])
def test_bad_sizes_are_usage_errors(text):
    with pytest.raises(UsageError, match="--size"):
        parse_size(text, "--size")


def test_the_seeds_job_is_10029_writes():
    # fio 3.33 reports N = 10029 syncs for --size=22m --bs=2300 (anchors/operations.md 4.3).
    assert write_count(parse_size("22m", "--size"), 2300) == 10029
    with pytest.raises(UsageError):
        write_count(100, 2300)


# --- the log-linear histogram ----------------------------------------------------------------


def test_buckets_tile_the_integers():
    prev_high = -1
    for i in range(64 * 40):
        low, high = bucket_bounds(i)
        assert low == prev_high + 1, i
        assert bucket_index(low) == i and bucket_index(high) == i
        assert high - low + 1 <= max(1, low // 64)  # width within 1/64 of the value
        prev_high = high


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=400),
       st.sampled_from([50.0, 90.0, 99.0, 99.9, 100.0]))
def test_percentiles_stay_within_a_bucket_of_the_exact_ones(values, p):
    h = LatencyHistogram()
    h.extend(values)
    exact = nearest_rank(values, p)
    assert abs(h.percentile(p) - exact) <= exact / 64 + 1
    assert h.max == max(values) and h.n == len(values)


def test_small_latencies_are_exact():
    h = LatencyHistogram()
    h.extend(range(1, 101))
    assert h.percentile(50) == 50 and h.percentile(99) == 99 and h.percentile(100) == 100


def run_of(fast: int, slow: int, fast_ns: int = MS // 2, slow_ns: int = 30 * MS) -> LatencyHistogram:
    values = [fast_ns] * fast + [slow_ns] * slow
    random.Random(7).shuffle(values)
    h = LatencyHistogram()
    h.extend(values)
    return h


def test_p99_is_the_nearest_rank_one_percent_of_slow_syncs_is_not_enough():
    # 10000 syncs: the 9900th is p99. 100 slow ones leave it fast; 101 make it slow.
    ok = summarize("/d", 2300, run_of(9900, 100))
    assert ok.fdatasync_ms["p99"] == pytest.approx(0.5, rel=1 / 64)
    assert ok.fdatasync_ms["p99.9"] == pytest.approx(30, rel=1 / 64)
    assert ok.fdatasync_ms["max"] == 30.0 and ok.verdict == "ok"
    slow = summarize("/d", 2300, run_of(9899, 101))
    assert slow.fdatasync_ms["p99"] == pytest.approx(30, rel=1 / 64)
    assert slow.fdatasync_ms["p50"] == pytest.approx(0.5, rel=1 / 64)
    assert slow.verdict == "slow"


def test_verdict_is_strictly_below_ten_ms():
    assert verdict(9.999) == "ok"
    assert verdict(10.0) == "slow"


def test_json_contract_and_finding():
    result = summarize("/var/lib/etcd", 2300, run_of(10000, 29))
    data = result.to_json()
    assert list(data) == ["writes", "fdatasync_ms", "threshold_ms", "verdict", "path"]
    assert list(data["fdatasync_ms"]) == ["p50", "p90", "p99", "p99.9", "max"]
    assert data["writes"] == 10029 and data["threshold_ms"] == 10 and data["path"] == "/var/lib/etcd"
    f = disk_finding(result)
    assert f.severity == "info" and "p99 0.5" in f.evidence["reading"]
    bad = disk_finding(summarize("/d", 2300, run_of(100, 100)))
    assert bad.severity == "error" and bad.field == "fdatasync p99" and bad.fix


# --- PromQL histogram_quantile -------------------------------------------------------------
# Oracle: prometheus/prometheus promql/promqltest/testdata/histograms.test, the classic
# (``_bucket``) cases evaluated "at 50m" (bucket series loaded as 0+Nx10, so the counts are 10N).

TESTHISTOGRAM_POS = [(0.1, 50), (0.2, 70), (1.0, 110), (math.inf, 120)]
TESTHISTOGRAM_NEG = [(-0.2, 10), (-0.1, 20), (0.3, 20), (math.inf, 30)]
TESTHISTOGRAM2 = [(0, 0), (2, 1), (4, 2), (6, 3), (math.inf, 3)]  # "at 7m"
TESTHISTOGRAM3_POS = [(0, 0), (0.1, 50), (0.2, 70), (1.0, 110), (math.inf, 110)]
TESTHISTOGRAM3_NEG = [(-0.25, 0), (-0.2, 10), (-0.1, 20), (0.3, 20), (math.inf, 20)]
NONMONOTONIC = [(0.1, 20), (1, 10), (10, 50), (100, 40), (1000, 90), (math.inf, 80)]
# "Buckets with different representations of the same upper bound": le 0.2, 2e-1, 2.0e-1.
MIXED = [(0.1, 1), (0.2, 1), (0.2, 1), (0.2, 1), (math.inf, 4)]


@pytest.mark.parametrize(("q", "buckets", "want"), [
    # "Quantile value in lowest bucket" / "in highest bucket" / "Finally some useful quantiles"
    (0, TESTHISTOGRAM_POS, 0), (0, TESTHISTOGRAM_NEG, -0.2),
    (1, TESTHISTOGRAM_POS, 1), (1, TESTHISTOGRAM_NEG, 0.3),
    (0.2, TESTHISTOGRAM_POS, 0.048), (0.2, TESTHISTOGRAM_NEG, -0.2),
    (0.5, TESTHISTOGRAM_POS, 0.15), (0.5, TESTHISTOGRAM_NEG, -0.15),
    (0.8, TESTHISTOGRAM_POS, 0.72), (0.8, TESTHISTOGRAM_NEG, 0.3),
    # "Want results exactly in the middle of the bucket"
    (1 / 6, TESTHISTOGRAM2, 1), (0.5, TESTHISTOGRAM2, 3), (5 / 6, TESTHISTOGRAM2, 5),
    # "Test histogram_quantile, native and classic"
    (0, TESTHISTOGRAM3_POS, 0), (0, TESTHISTOGRAM3_NEG, -0.25),
    (0.25, TESTHISTOGRAM3_POS, 0.055), (0.25, TESTHISTOGRAM3_NEG, -0.225),
    (0.5, TESTHISTOGRAM3_POS, 0.125), (0.5, TESTHISTOGRAM3_NEG, -0.2),
    (0.75, TESTHISTOGRAM3_POS, 0.45), (0.75, TESTHISTOGRAM3_NEG, -0.15),
    (1, TESTHISTOGRAM3_POS, 1), (1, TESTHISTOGRAM3_NEG, -0.1),
    # "A histogram with nonmonotonic bucket counts"
    (0.01, NONMONOTONIC, 0.0045), (0.5, NONMONOTONIC, 8.5), (0.99, NONMONOTONIC, 979.75),
    # "Buckets with different representations of the same upper bound"
    (0.5, MIXED, 0.15), (0.75, MIXED, 0.2), (1, MIXED, 0.2),
])
def test_histogram_quantile_matches_prometheus(q, buckets, want):
    assert histogram_quantile(q, buckets) == pytest.approx(want, abs=1e-9)


def test_histogram_quantile_edges_match_prometheus():
    # "Quantile too low / too high / invalid"; an empty histogram and no +Inf bucket are NaN.
    assert histogram_quantile(-0.1, TESTHISTOGRAM_POS) == -math.inf
    assert histogram_quantile(1.01, TESTHISTOGRAM_POS) == math.inf
    assert math.isnan(histogram_quantile(math.nan, TESTHISTOGRAM_POS))
    assert math.isnan(histogram_quantile(0.2, [(0.1, 0), (0.2, 0), (math.inf, 0)]))
    assert math.isnan(histogram_quantile(0.5, [(0.1, 1), (0.2, 2)]))
    assert math.isnan(histogram_quantile(0.5, [(math.inf, 3)]))


ETCD_SCRAPE = """\
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 281
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 288
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 293
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.008"} 302
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.016"} 307
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.032"} 307
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 307
etcd_disk_wal_fsync_duration_seconds_sum 0.2475
etcd_disk_wal_fsync_duration_seconds_count 307
etcd_disk_backend_commit_duration_seconds_bucket{le="0.001"} 0
etcd_disk_backend_commit_duration_seconds_bucket{le="0.002"} 5
etcd_disk_backend_commit_duration_seconds_bucket{le="0.004"} 8
etcd_disk_backend_commit_duration_seconds_bucket{le="+Inf"} 8
etcd_disk_backend_commit_duration_seconds_count 8
"""


def test_parse_buckets_sums_by_le_and_ignores_the_rest():
    text = ETCD_SCRAPE + 'etcd_disk_wal_fsync_duration_seconds_bucket{member="b",le="0.001"} 19\n'
    buckets = parse_buckets(text, WAL_FSYNC)
    assert buckets[0] == (0.001, 300.0)  # 281 + 19 from the second series
    assert buckets[-1] == (math.inf, 307.0)
    assert [le for le, _ in buckets] == sorted(le for le, _ in buckets)
    assert parse_buckets(text, "etcd_disk_wal_fsync") == []


def test_etcd_p99_from_a_real_scrape():
    # rank 0.99 * 307 = 303.93 lies in (8, 16] ms, which holds 307 - 302 = 5 observations:
    # 8 + 8 * (303.93 - 302) / 5 = 11.088 ms, above the 10 ms guidance.
    wal = etcd_quantile(ETCD_SCRAPE, WAL_FSYNC, 10)
    assert wal.p99_ms == pytest.approx(11.088)
    assert wal.bucket_ms == (8.0, 16.0) and wal.observations == 307 and wal.verdict == "slow"
    # rank 7.92 of 8 in (2, 4] ms holding 3: 2 + 2 * 2.92 / 3
    commit = etcd_quantile(ETCD_SCRAPE, BACKEND_COMMIT, 25)
    assert commit.p99_ms == pytest.approx(2 + 2 * 2.92 / 3)
    assert commit.verdict == "ok"
    findings = etcd_findings([wal, commit], "etcd 3.4.23")
    assert [f.severity for f in findings] == ["error", "info"]
    assert "(8, 16] ms bucket" in findings[0].evidence["reading"]
    assert bucket_around(0.011088, parse_buckets(ETCD_SCRAPE, WAL_FSYNC)) == (0.008, 0.016)


def test_etcd_that_saw_nothing_has_no_p99():
    q = etcd_quantile("", WAL_FSYNC, 10)
    assert math.isnan(q.p99_ms) and q.verdict == "unknown" and q.to_json()["p99_ms"] is None
    assert etcd_findings([q], "etcd")[0].severity == "warning"
