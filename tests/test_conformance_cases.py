"""netpol-analyzer's cases.json: each golden, reproduced byte for byte by the podnet command a
user would run (``podnet connlist`` / ``podnet diff``), for every group podnet supports.

Groups are ``kind/format`` (``+anp`` when the case needs admin tiers). A group joins
SUPPORTED when its command and format exist; from then on every case in it must pass, except
the ones listed in KNOWN with the reason.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from podnet.conformance.cases import OUT_OF_SCOPE, load, run_case
from tests.conftest import CONFORMANCE, needs_corpus

pytestmark = needs_corpus

SUPPORTED = {"connlist-txt/txt", "connlist-format/json", "connlist-format/csv", "connlist-format/md",
             "connlist-format/dot", "focus/txt", "focus/json", "focus/csv", "focus/md", "focus/dot",
             "diff/txt", "diff/csv", "diff/md", "diff/dot", "exposure/txt"}
_DUPLICATE_SERVICE = ("the input defines Service payments/visa-processor-service twice (visa-processor "
                      "and visa-processor-v2); netpol-analyzer keeps the last, podnet refuses duplicate "
                      "objects (without the second the output is byte-equal)")
KNOWN = {
    "connlist/acs-security-demos-added-workloads_focus_workload_asset-cache_connlist_output.txt":
        _DUPLICATE_SERVICE,
    "connlist/acs-security-demos-added-workloads_focus_workload_backend_recommendation_ingress_connlist_output.txt":
        _DUPLICATE_SERVICE,
    "connlist/acs-security-demos-added-workloads_focus_workload_frontend_asset-cache_connlist_output.txt":
        _DUPLICATE_SERVICE,
    **{f"diff/diff_between_acs-security-demos-added-workloads_and_acs-security-demos.{fmt}":
       _DUPLICATE_SERVICE for fmt in ("txt", "csv", "md")},
}

CASES = load(CONFORMANCE) if CONFORMANCE.exists() else []


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
