"""netpol-analyzer's corpus: every case that uses only core kinds must reproduce exactly."""

from __future__ import annotations

import pytest

from podnet.conformance.flat import OUT_OF_SCOPE, kinds_of, run_case
from tests.conftest import CONFORMANCE, needs_corpus

pytestmark = needs_corpus


CASES = sorted(p.stem for p in (CONFORMANCE / "expected").glob("*.txt"))
PLAIN = [c for c in CASES if not kinds_of(CONFORMANCE / "tests" / c) & set(OUT_OF_SCOPE)]


def test_corpus_present_and_counted():
    assert len(CASES) == 136
    assert len(PLAIN) == 50


@pytest.mark.parametrize("case", PLAIN)
def test_plain_case_reproduces(case):
    result = run_case(CONFORMANCE, case)
    assert result.status == "pass", result.detail


def test_out_of_scope_cases_are_reported_not_hidden():
    other = sorted(set(CASES) - set(PLAIN))
    assert other, "expected AdminNetworkPolicy/UDN cases in the corpus"
    result = run_case(CONFORMANCE, other[0])
    assert result.status == "out-of-scope" and result.detail.startswith("needs ")
