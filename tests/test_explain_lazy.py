"""``explain`` compiles only the policies that can select its two endpoints and, from the model
cache, unpickles only their namespaces (podnet/policy/explain.py ``evaluator_for``,
podnet/cli/modelfile.py): its answers must be those of the full compile over the full model."""

from __future__ import annotations

import json
import random
import sys

import pytest

from podnet.analysis import Analysis
from podnet.cli import modelfile
from podnet.model.cluster import Cluster, build
from podnet.model.load import read_paths, read_texts
from podnet.policy.explain import evaluator_for, explain_data
from podnet.policy.verdict import Endpoint
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402

PORTS = ((8080, "TCP"), (8081, "TCP"), (9090, "TCP"), (53, "UDP"))


def generated() -> Cluster:
    return build(read_texts([("gen.json", json.dumps(gen.cluster(3000, 60, 300)))]))


def admin() -> Cluster:  # AdminNetworkPolicies and a baseline over a few namespaces
    return build(read_paths([str(ROOT / "tests" / "manifests" / "lab-admin")]))


def pairs(cluster: Cluster, n: int) -> list[tuple[Endpoint, Endpoint]]:
    rnd = random.Random(17)
    pods = list(cluster.pods)
    out: list[tuple[Endpoint, Endpoint]] = [(a, b) for a, b in
                                           zip(rnd.choices(pods, k=n), rnd.choices(pods, k=n),
                                               strict=True)]
    out += [(pods[0], pods[0]), (pods[1], "203.0.113.9"), ("198.51.100.7", pods[-1])]
    return out


@pytest.mark.parametrize("make", [generated, admin], ids=["generated", "admin-tiers"])
@pytest.mark.parametrize("ipblocks", [True, False])
def test_lazy_compile_answers_as_the_full_one(make: object, ipblocks: bool) -> None:
    cluster = make()  # type: ignore[operator]
    full = Analysis(cluster, ipblock_matches_pods=ipblocks).evaluator
    payload = modelfile.dumps(cluster)
    for a, b in pairs(cluster, 150):
        want = full.verdict(a, b)
        # over the built model, and over a lazily loaded copy of it (a fresh one per question,
        # as each run of `podnet explain` is)
        lazy = modelfile.loads(payload)
        la = lazy.pod(a.key) if not isinstance(a, str) else a
        lb = lazy.pod(b.key) if not isinstance(b, str) else b
        for model, x, y in ((cluster, a, b), (lazy, la, lb)):
            assert x is not None and y is not None
            got = evaluator_for(model, (x, y), ipblock_matches_pods=ipblocks).verdict(x, y)
            assert got == want
            for number, proto in PORTS:
                assert explain_data(got, number, proto) == explain_data(want, number, proto)
        # what the question read of the cached model: at most the two namespaces
        assert "pods" not in lazy.__dict__ and "policies" not in lazy.__dict__
        assert len(lazy._sections.bundles) <= 2


def test_the_generated_pairs_cover_both_verdicts_and_isolation() -> None:
    # the comparison above could pass on answers that are all alike
    cluster = generated()
    ev = Analysis(cluster).evaluator
    verdicts = [ev.verdict(a, b) for a, b in pairs(cluster, 150)]
    assert {v.allowed.allows("TCP", 8080) for v in verdicts} == {True, False}
    assert any(v.ingress.isolated for v in verdicts) and any(v.egress.isolated for v in verdicts)
    assert any(len(v.ingress.selecting) > 1 for v in verdicts)
    tiers = Analysis(admin()).evaluator
    assert any(v.ingress.tiers or v.egress.tiers for v in (tiers.verdict(a, b)
                                                            for a, b in pairs(admin(), 60)))
