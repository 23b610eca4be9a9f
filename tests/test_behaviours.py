"""The class matrix is kept over distinct behaviours in packed bits (issue 17): its size must
follow the behaviours, not the classes, and its helpers must agree with plain numpy."""

import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.model import build, read_texts
from podnet.model.ipam import ipv4_int
from podnet.policy import Evaluator, class_matrix, compile_cluster, count_allowed, pod_matrix
from podnet.policy.ipv4array import ipv4_ints
from podnet.policy.packedbits import column_ids, popcount, row_ids, take_bits

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import gen  # noqa: E402

PORTS = [(8080, "TCP"), (9090, "TCP"), (53, "UDP")]


def _matrix(pods: int, namespaces: int, policies: int):  # type: ignore[no-untyped-def]
    import json
    cluster = build(read_texts([("c.json", json.dumps(gen.cluster(pods, namespaces, policies)))]))
    compiled = compile_cluster(cluster)
    return cluster, compiled, class_matrix(cluster, compiled, PORTS)


def test_rows_follow_behaviours_not_classes():
    _, _, small = _matrix(600, 20, 40)
    cluster, compiled, big = _matrix(2400, 80, 160)
    assert len(big.space.classes) >= 3 * len(small.space.classes)
    # 9090 (metrics from prod namespaces) and 53/UDP depend on no namespace of their own:
    # four times the namespaces, the same behaviours
    for port in PORTS[1:]:
        assert big.allowed[port].bits.shape == small.allowed[port].bits.shape
        assert big.allowed[port].bits.shape[0] <= 4
    # 8080 ("from every pod of my namespace" in a quarter of them) grows with those namespaces
    rows = big.allowed[PORTS[0]].bits.shape[0]
    assert rows < len(big.space.classes) / 2
    # and the answer is still the per-pair one, on a sample of pairs
    ev = Evaluator(cluster, compiled)
    rng = np.random.default_rng(7)
    src = rng.choice(len(cluster.pods), 60, replace=False)
    dst = rng.choice(len(cluster.pods), 60, replace=False)
    for port in PORTS:
        m = pod_matrix(big, port, src, dst)
        want = [[ev.allowed(cluster.pods[i], cluster.pods[j]).allows(port[1], port[0]) or i == j
                 for j in dst.tolist()] for i in src.tolist()]
        assert m.tolist() == want
        assert count_allowed(big, port) > 0


bool_matrix = st.integers(0, 12).flatmap(lambda r: st.integers(0, 40).flatmap(
    lambda c: st.lists(st.lists(st.booleans(), min_size=c, max_size=c), min_size=r, max_size=r)
    .map(lambda rows: np.array(rows, dtype=bool).reshape(r, c))))


@settings(max_examples=80, deadline=None)
@given(bool_matrix)
def test_packed_helpers_agree_with_unpacked(m):
    p = np.packbits(m, axis=1)
    ids, first = row_ids(p)
    assert len(first) == len({r.tobytes() for r in m})
    assert all((m[i] == m[first[ids[i]]]).all() for i in range(m.shape[0]))
    cids, cfirst = column_ids(p, m.shape[1])
    assert len(cfirst) == len({c.tobytes() for c in m.T})
    assert all((m[:, j] == m[:, cfirst[cids[j]]]).all() for j in range(m.shape[1]))
    rows, cols = np.arange(m.shape[0])[::-1], np.arange(m.shape[1])[::2]
    assert (take_bits(p, rows, cols) == m[np.ix_(rows, cols)]).all()
    assert int(popcount(p).sum()) == int(m.sum())


octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["", "00", "01", "007", "a", " 1"]))
address = st.one_of(st.lists(octet, min_size=3, max_size=5).map(".".join),
                    st.sampled_from(["", "fe80::1", "10.0.0.1\x00", "１.2.3.4", "1.2.3.4 "]))


def _reference(ip: str) -> int | None:
    if not ip or ":" in ip:
        return -1
    try:
        return ipv4_int(ip)
    except ValueError:
        return None  # refused: ipv4_ints must refuse it too


@settings(max_examples=300, deadline=None)
@given(st.lists(address, max_size=8))
def test_ipv4_ints_agrees_with_ipv4_int(ips):
    want = [_reference(ip) for ip in ips]
    if None in want:
        try:
            ipv4_ints(ips)
        except ValueError:
            return
        raise AssertionError(f"accepted {ips!r}")
    assert ipv4_ints(ips).tolist() == want
