"""Run podnet over netpol-analyzer's corpus and report which connection lists match exactly.

Part of ``make conformance``. A case is *plain* when its
manifests use only kinds podnet models (core Kubernetes, AdminNetworkPolicy and
BaselineAdminNetworkPolicy); cases that need UserDefinedNetwork, NetworkAttachmentDefinition
or VM kinds are listed as out of scope. netpol-analyzer reads ipBlocks as never selecting pods, so the runner
does too. Exit code 0 (a report) unless ``--strict`` and a plain case differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from podnet.errors import PodnetError
from podnet.model import build, read_paths
from podnet.policy.compile import compile_cluster
from podnet.policy.connlist import connlist

OUT_OF_SCOPE = ("UserDefinedNetwork", "ClusterUserDefinedNetwork", "NetworkAttachmentDefinition",
                "VirtualMachine", "VirtualMachineInstance")
_KIND = re.compile(r'^\s*"?kind"?\s*:\s*"?([A-Za-z]+)', re.M)


@dataclass(frozen=True)
class Result:
    case: str
    status: str  # "pass" | "fail" | "out-of-scope" | "error"
    detail: str = ""


def kinds_of(case_dir: Path) -> set[str]:
    kinds: set[str] = set()
    for f in case_dir.rglob("*"):
        if f.is_file() and f.suffix in (".yaml", ".yml", ".json"):
            kinds |= set(_KIND.findall(f.read_text(errors="replace")))
    return kinds


def run_case(corpus: Path, case: str) -> Result:
    expected_file = corpus / "expected" / f"{case}.txt"
    case_dir = corpus / "tests" / case
    needs = sorted(kinds_of(case_dir) & set(OUT_OF_SCOPE))
    if needs:
        return Result(case, "out-of-scope", "needs " + ", ".join(needs))
    try:
        cluster = build(read_paths([str(case_dir)]))
    except PodnetError as e:
        return Result(case, "error", str(e))
    compiled = compile_cluster(cluster, ipblock_matches_pods=False)
    got = connlist(cluster, compiled)
    want = [line for line in expected_file.read_text().splitlines() if line.strip()]
    if sorted(got) == sorted(want):
        return Result(case, "pass")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    detail = "; ".join([*(f"missing: {m}" for m in missing[:2]), *(f"extra: {e}" for e in extra[:2])])
    return Result(case, "fail", f"{len(missing)} missing, {len(extra)} extra; {detail}")


def run(corpus: Path) -> list[Result]:
    cases = sorted(p.stem for p in (corpus / "expected").glob("*.txt"))
    return [run_case(corpus, c) for c in cases]


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    args = [a for a in argv if a != "--strict"]
    corpus = Path(args[0] if args else "../shared/conformance/netpol-analyzer")
    results = run(corpus)
    plain = [r for r in results if r.status != "out-of-scope"]
    passed = [r for r in plain if r.status == "pass"]
    print(f"netpol-analyzer conformance: {len(passed)} of {len(plain)} plain cases reproduce exactly "
          f"({len(results) - len(plain)} cases need kinds podnet does not model)")
    for r in results:
        if r.status != "pass":
            print(f"  {r.status:12} {r.case}: {r.detail}")
    return 1 if strict and len(passed) < len(plain) else 0

