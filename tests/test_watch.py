"""``podnet watch``: the incremental diff equals ``podnet diff`` of the two file sets, and the
live model survives bad edits, added and removed files, and edits that are not policies."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podnet.errors import InputError
from podnet.model import build, read_texts
from podnet.policy import compile_cluster
from podnet.policy.diff import diff, side
from podnet.policy.diff_formats import render
from podnet.policy.incremental import incremental_diff, version
from podnet.policy.live import LiveModel
from tests.admin_gen import admin_docs
from tests.helpers import policy_docs
from tests.test_connlist_property import NSS, anp, banp, podspec, policy
from tests.test_connlist_property import manifest as cluster_manifest


def _full(text: str, ipb: bool) -> tuple[object, object]:
    cluster = build(read_texts([("gen.json", text)]), nodes=2)
    return cluster, compile_cluster(cluster, ipblock_matches_pods=ipb)


def _expected(before: str, after: str, ipb: bool, fmt: str = "txt") -> str:
    c1, k1 = _full(before, ipb)
    c2, k2 = _full(after, ipb)
    return render(diff(side(c1, k1), side(c2, k2)), fmt)  # type: ignore[arg-type]


def _incremental(before: str, after: str, ipb: bool, fmt: str = "txt") -> str:
    c1, k1 = _full(before, ipb)
    c2, k2 = _full(after, ipb)
    v1 = version(c1, k1)  # type: ignore[arg-type]
    v2 = version(c2, k2, v1)  # type: ignore[arg-type]
    return render(incremental_diff(v1, v2), fmt)


edit = st.tuples(st.lists(podspec, min_size=1, max_size=7), st.lists(policy, max_size=4),
                 st.lists(policy, max_size=4), st.lists(anp, max_size=2), banp, st.booleans(),
                 st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit, st.lists(podspec, min_size=1, max_size=7), st.sampled_from(["txt", "csv", "md"]))
def test_incremental_diff_equals_podnet_diff(e, other_pods, fmt):
    """Random edits of the policies (and, one time in four, of the pods or the admin tiers):
    what the incremental diff prints is what ``podnet diff`` prints for the two versions."""
    pods, before_pols, after_pols, anps, banp_spec, ipb, mode = e
    before = cluster_manifest(pods, before_pols)
    if mode == 0:
        after = cluster_manifest(other_pods, after_pols)
    elif mode == 1:
        after = cluster_manifest(pods, before_pols, anps, banp_spec)
    else:
        after = cluster_manifest(pods, after_pols)
    assert _incremental(before, after, ipb, fmt) == _expected(before, after, ipb, fmt)
