"""netpol-analyzer's cases.json: each golden, reproduced byte for byte by the podnet command a
user would run (``podnet connlist`` / ``podnet diff``), for every group podnet supports.

Groups are ``kind/format`` (``+anp`` when the case needs admin tiers). Every group not in
NOT_YET must pass, case by case, except the ones listed in KNOWN with the reason.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from podnet.conformance.cases import OUT_OF_SCOPE, load, run_case
from tests.conftest import CONFORMANCE, needs_corpus

pytestmark = needs_corpus

# Every group is required now; what does not pass is listed in KNOWN with its reason.
NOT_YET: set[str] = set()
# The API server refuses a Deployment whose selector does not match its template's labels
# (kubernetes pkg/apis/apps/validation/validation_test.go, TestValidateDeployment); netpol-analyzer
# reads it anyway and podnet refuses the input, naming the Deployment and spec.selector.
_SELECTOR = ("a Deployment's spec.selector does not match its template's labels: the API server "
             "rejects it, netpol-analyzer reads it, podnet refuses the input")
KNOWN = {
    "connlist/anp_test_1_deny_traffic_at_cluster_level_connlist_output.txt": _SELECTOR,
    "connlist/anp_test_ingress_egress_intersection_connlist_output.txt": _SELECTOR,
}

CASES = load(CONFORMANCE) if CONFORMANCE.exists() else []
SUPPORTED = {c.group for c in CASES} - NOT_YET


def test_corpus_counted():
    assert len(CASES) == 542
    assert not [c for c in CASES if c.needs & OUT_OF_SCOPE], "cases.json keeps UDN/VM cases out"


@pytest.mark.parametrize("case", [c for c in CASES if c.group in SUPPORTED], ids=lambda c: c.id)
def test_case_is_byte_equal(case):
    if case.id in KNOWN:
        pytest.xfail(KNOWN[case.id])
    outcome = run_case(case)
    assert outcome.status == "pass", outcome.detail


def test_an_unbuilt_option_is_reported_unsupported_not_failed():
    plain = next(c for c in CASES if c.group == "connlist-txt/txt")
    case = replace(plain, argv=(*plain.argv, "--an-option-podnet-lacks"))
    outcome = run_case(case)
    assert outcome.status == "unsupported" and "an-option-podnet-lacks" in outcome.detail, outcome
