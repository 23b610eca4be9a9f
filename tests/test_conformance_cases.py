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

SUPPORTED = {"connlist-txt/txt", "diff/txt", "diff/csv", "diff/md", "diff/dot", "exposure/txt"}
KNOWN = {
    "cli/document_with_syntax_error_connlist_output.txt":
        "netpol-analyzer skips a document that does not parse and goes on; podnet refuses the input",
    **{f"diff/diff_between_acs-security-demos-added-workloads_and_acs-security-demos.{fmt}":
       "the new side defines Service payments/visa-processor-service twice (visa-processor/ and "
       "visa-processor-v2/deployment.yaml, different selectors); netpol-analyzer keeps one, "
       "podnet refuses the input (InputError: defined twice)" for fmt in ("txt", "csv", "md")},
    **{f"connlist/{name}_exposure_output.txt":
       "needs --focus-workload/--focus-direction, which another change adds to podnet connlist; "
       "exposure() already takes focus= and direction= and matches this golden given the "
       "focused connlist"
       for name in ("acs-security-demos_focus_workload_backend_checkout_frontend_webapp_egress",
                    "acs-security-demos_focus_workload_backend_checkout_frontend_webapp",
                    "acs-security-demos_focus_workload_frontend_webapp_egress",
                    "k8s_ingress_test_focus_workload_ratings-v1-b6994bb9",
                    "k8s_ingress_test_new_focus_workload_details-v1-79f774bdb9")},
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
