"""netpol-analyzer's corpus: every case that uses only kinds podnet models (core kinds and the
admin tiers) must reproduce exactly, except the ones listed in KNOWN with the reason."""

from __future__ import annotations

import pytest

from podnet.conformance.flat import OUT_OF_SCOPE, kinds_of, run_case
from tests.conftest import CONFORMANCE, needs_corpus

pytestmark = needs_corpus


CASES = sorted(p.stem for p in (CONFORMANCE / "expected").glob("*.txt"))
PLAIN = [c for c in CASES if not kinds_of(CONFORMANCE / "tests" / c) & set(OUT_OF_SCOPE)]
# The API server refuses a Deployment whose selector does not match its template's labels
# (kubernetes pkg/apis/apps/validation/validation_test.go, TestValidateDeployment: "`selector`
# does not match template `labels`"); netpol-analyzer reads it anyway, podnet refuses it.
SELECTOR = "a Deployment's selector does not match its template: the API server rejects it"
KNOWN = {"anp_test_1_deny_traffic_at_cluster_level": SELECTOR,
         "anp_test_2_allow_traffic_at_cluster_level": SELECTOR,
         "anp_test_ingress_egress_intersection": SELECTOR}


def test_corpus_present_and_counted():
    assert len(CASES) == 136
    assert len(PLAIN) == 104


@pytest.mark.parametrize("case", PLAIN)
def test_plain_case_reproduces(case):
    result = run_case(CONFORMANCE, case)
    if case in KNOWN:
        assert result.status == "error" and "spec.selector" in result.detail, result
        return
    assert result.status == "pass", result.detail


def test_out_of_scope_cases_are_reported_not_hidden():
    other = sorted(set(CASES) - set(PLAIN))
    assert other, "expected UserDefinedNetwork/VM cases in the corpus"
    result = run_case(CONFORMANCE, other[0])
    assert result.status == "out-of-scope" and result.detail.startswith("needs ")
