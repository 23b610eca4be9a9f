"""Every golden of ``cases.json``, reproduced by running the podnet command a user would run.

A case becomes a command line (``podnet connlist -f DIR -o FORMAT --focus-workload W ...`` or
``podnet diff -f NEW --against OLD -o FORMAT``); its standard output must equal
netpol-analyzer's golden byte for byte, except that a missing or extra final newline is not
counted (netpol-analyzer's writer and its golden files disagree on it). The runner knows
nothing about the formats: an option podnet does not offer yet is a usage error (exit 2) and
the case is reported as *unsupported*, so the figure never hides what is missing.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Kinds whose semantics podnet does not model: user-defined networks and virtual machines.
OUT_OF_SCOPE = frozenset({"UserDefinedNetwork", "ClusterUserDefinedNetwork",
                          "NetworkAttachmentDefinition", "MultiNetworkPolicy", "VirtualMachine",
                          "VirtualMachineInstance"})


@dataclass(frozen=True)
class Case:
    id: str
    command: str
    argv: tuple[str, ...]
    expected: Path
    needs: frozenset[str]
    group: str  # kind/format, with the admin tiers it needs: how the report counts it


@dataclass(frozen=True)
class Outcome:
    case: str
    status: str  # pass | fail | unsupported | error | out-of-scope
    detail: str = ""


_FLAGS = (("focus_workload", "--focus-workload"), ("focus_workload_peer", "--focus-workload-peer"),
          ("focus_direction", "--focus-direction"), ("focus_conn", "--focus-conn"),
          ("explain_only", "--explain-only"))


def _argv(corpus: Path, raw: dict[str, Any]) -> tuple[str, ...]:
    if raw["command"] == "diff":
        return ("diff", "-f", str(corpus / raw["dir"]), "--against", str(corpus / raw["dir2"]),
                "-o", raw["format"])
    argv = ["connlist", "-f", str(corpus / raw["dir"]), "-o", raw["format"]]
    for key, flag in _FLAGS:
        if raw.get(key):
            argv += [flag, str(raw[key])]
    argv += ["--exposure"] * bool(raw.get("exposure")) + ["--explain"] * bool(raw.get("explain"))
    return tuple(argv)


def load(corpus: Path) -> list[Case]:
    raw = json.loads((corpus / "cases.json").read_text())
    return [Case(id=r["id"], command=r["command"], argv=_argv(corpus, r),
                 expected=corpus / r["expected"], needs=frozenset(r.get("needs") or ()),
                 group=_group(r))
            for r in raw]


def _group(raw: dict[str, Any]) -> str:
    tiers = "+anp" if {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy"} & set(raw["needs"]) else ""
    return f"{raw['kind']}/{raw['format']}{tiers}"


def invoke(argv: tuple[str, ...]) -> tuple[int, str, str]:
    """podnet's command line in this process: (exit code, stdout, stderr)."""
    from podnet.cli.app import main as podnet_main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            podnet_main(list(argv))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _first_difference(got: str, want: str) -> str:
    g, w = got.splitlines(), want.splitlines()
    for i, (a, b) in enumerate(zip(g, w, strict=False)):
        if a != b:
            return f"line {i + 1}: got {a!r}, want {b!r}"
    return f"{len(g)} lines, want {len(w)}"


def run_case(case: Case) -> Outcome:
    blocked = sorted(case.needs & OUT_OF_SCOPE)
    if blocked:
        return Outcome(case.id, "out-of-scope", "needs " + ", ".join(blocked))
    code, out, err = invoke(case.argv)
    missing = [ln.strip("│ ").strip() for ln in err.splitlines()
               if "No such option" in ln or "No such command" in ln or "choose one" in ln]
    if code == 2 and missing:
        return Outcome(case.id, "unsupported", missing[0])
    if code != 0:
        return Outcome(case.id, "error", err.strip()[:300])
    want = case.expected.read_text()
    if out.rstrip("\n") == want.rstrip("\n"):
        return Outcome(case.id, "pass")
    return Outcome(case.id, "fail", _first_difference(out, want))


def run(corpus: Path) -> list[tuple[Case, Outcome]]:
    return [(c, run_case(c)) for c in load(corpus)]


def summary(outcomes: list[Outcome]) -> str:
    n = Counter(o.status for o in outcomes)
    in_scope = len(outcomes) - n["out-of-scope"]
    return (f"netpol-analyzer cases.json: {n['pass']} of {in_scope} in-scope cases byte-equal "
            f"({n['fail']} differ, {n['unsupported']} unsupported, {n['error']} errors; "
            f"{n['out-of-scope']} out of scope: user-defined networks and VMs)")


def main(argv: list[str]) -> int:
    from podnet.conformance import flat

    strict, verbose = "--strict" in argv, "--verbose" in argv
    args = [a for a in argv if not a.startswith("--")]
    corpus = Path(args[0] if args else "../shared/conformance/netpol-analyzer")
    code = flat.main([str(corpus), *(["--strict"] if strict else [])])
    results = run(corpus)
    outcomes = [o for _, o in results]
    print(summary(outcomes))
    groups: dict[str, Counter[str]] = {}
    for c, o in results:
        groups.setdefault(c.group, Counter())[o.status] += 1
    for g, n in sorted(groups.items()):
        print(f"  {g:32} {n['pass']:3} of {sum(n.values()):3}"
              + "".join(f", {k} {v}" for k, v in sorted(n.items()) if k != "pass"))
    if verbose:
        for o in outcomes:
            if o.status != "pass":
                print(f"  {o.status:12} {o.case}: {o.detail}")
    failed = any(o.status in ("fail", "error") for o in outcomes)
    return 1 if strict and (code or failed) else code
