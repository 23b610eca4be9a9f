"""The numpy path (``conntable``) must print exactly what the per-connection path prints:
connlist txt, ``--exposure`` txt and the diff in txt, csv and md (dot draws every pair and
keeps the old path), on random clusters (the property test's generator, admin tiers included,
with one destination class per block too) and on bench/gen.py's clusters at small sizes (many
workloads per policy shape, ipBlocks, named ports), against a copy with a few policies
changed as a pull request would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.model import build, read_texts
from podnet.policy import compile_cluster, conntable
from podnet.policy.connlist import connections, representatives
from podnet.policy.connlist_formats import txt
from podnet.policy.conntable import changed_sides, conn_table, exposure_txt_pieces, txt_pieces
from podnet.policy.diff import diff, side
from podnet.policy.diff_formats import render
from podnet.policy.exposure_report import report_of
from tests.test_connlist_property import anp, banp, manifest, podspec, policy

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import gen  # noqa: E402


def _model(text: str):
    cluster = build(read_texts([("gen.json", text)]), nodes=2)
    return cluster, compile_cluster(cluster, ipblock_matches_pods=False)


def _same_connlist(cluster, compiled) -> None:
    conns = connections(cluster, compiled)
    table = conn_table(cluster, compiled)
    assert "".join(txt_pieces(table)) == txt(conns)
    triples = [(c.src.text, c.dst.text, c.text) for c in conns]
    assert "".join(exposure_txt_pieces(cluster, compiled, table)) == report_of(
        cluster, compiled, triples, "txt")


def _same_diff(old, new) -> None:
    whole = diff(side(*old), side(*new), unchanged=False)
    fast = diff(*changed_sides(conn_table(*old), frozenset(representatives(old[0])),
                               conn_table(*new), frozenset(representatives(new[0]))),
                unchanged=False)
    assert fast == whole
    for fmt in ("txt", "csv", "md"):
        assert render(fast, fmt) == render(whole, fmt)


@settings(max_examples=40, deadline=None)
@given(st.lists(podspec, min_size=1, max_size=8), st.lists(policy, max_size=4),
       st.lists(policy, max_size=4), st.booleans(), st.lists(anp, max_size=2), banp)
def test_numpy_path_equals_connections_on_random_clusters(pods, policies, others, tiny, anps,
                                                          banp_spec):
    old = _model(manifest(pods, policies, anps, banp_spec))
    new = _model(manifest(pods[: max(1, len(pods) - 1)], others, anps, banp_spec))
    saved = conntable.BLOCK_WORDS
    conntable.BLOCK_WORDS = 1 if tiny else saved  # one destination class per block
    try:
        _same_connlist(*old)
        _same_diff(old, new)
    finally:
        conntable.BLOCK_WORDS = saved


@pytest.mark.parametrize("pods, namespaces, policies", [(300, 10, 30), (900, 30, 90)])
def test_numpy_path_equals_connections_on_bench_clusters(pods, namespaces, policies):
    data = gen.cluster(pods, namespaces, policies)
    old = _model(json.dumps(data))
    new = _model(json.dumps(gen.edited(data, 3)))
    _same_connlist(*old)
    got = diff(*changed_sides(conn_table(*old), frozenset(representatives(old[0])),
                              conn_table(*new), frozenset(representatives(new[0]))),
               unchanged=False)
    assert got.differs  # the edit changes something, so the comparison below is not vacuous
    _same_diff(old, new)
