"""How much of each upstream project's own test suite podnet reproduces (``make conformance``).

Runs the test modules that reproduce upstream cases (each test cites its upstream file and
test name) and prints one row per area: cases reproduced, cases podnet deliberately does not
model (strict xfails, each with its reason), and failures.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # the tests import tests.conftest, as under pytest
AREAS = (
    ("kube-proxy iptables (pkg/proxy/iptables/proxier_test.go)",
     ["test_kube_proxy_upstream.py"], None),
    ("kube-proxy nftables (pkg/proxy/nftables/proxier_test.go, helpers_test.go)",
     ["test_kube_proxy_nft_upstream.py", "test_kube_proxy_nft_flows.py"], None),
    ("MetalLB (internal/allocator, controller)", ["test_metallb_allocator.py", "test_metallb.py"],
     None),
    ("resolvers: glibc and musl search-list expansion", ["test_dns.py"], "expansion"),
)


class Tally:
    def __init__(self) -> None:
        self.n: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            kind = "xfail" if hasattr(report, "wasxfail") else report.outcome
            self.n[kind] += 1


def main() -> int:
    print("| area | reproduced | not modelled (xfail, with reason) | failing |")
    print("|---|---|---|---|")
    bad = 0
    for name, files, keyword in AREAS:
        tally = Tally()
        args = ["-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=",
                *(str(HERE / f) for f in files)] + (["-k", keyword] if keyword else [])
        code = pytest.main(args, plugins=[tally])
        n = tally.n
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not n["failed"]:
            n["failed"] += 1  # collection failed: nothing was reproduced
        bad += n["failed"]
        print(f"| {name} | {n['passed']} | {n['xfail']} | {n['failed']} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
