"""Findings as SARIF 2.1.0, the format GitHub code scanning takes: one run, podnet as the tool,
a rule per check (id = the check's name), a result per finding located at the line of the
object in its manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from podnet.doctor.finding import Check, Finding
from podnet.errors import SourceRef

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}

# (uri, line, column) of a finding's object; the caller knows the files
Locate = Callable[[SourceRef], tuple[str, int, int]]


def _rule(c: Check) -> dict[str, Any]:
    return {"id": c.name,
            "name": "".join(part.capitalize() for part in c.name.split("-")),
            "shortDescription": {"text": c.summary},
            "fullDescription": {"text": c.summary},
            "help": {"text": f"Example: {c.example}"},
            "properties": {"tags": ["kubernetes", "networking", c.concern]}}


def _result(f: Finding, index: int, locate: Locate) -> dict[str, Any]:
    uri, line, column = locate(f.source)
    fingerprint = hashlib.sha256(f"{f.check}|{f.object}|{f.field}|{f.message}".encode()).hexdigest()
    text = f.message + (f"\nFix:\n{f.fix}" if f.fix else "")
    return {"ruleId": f.check, "ruleIndex": index, "level": LEVEL[f.severity],
            "message": {"text": text},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri},
                                     "region": {"startLine": line, "startColumn": column}},
                "logicalLocations": [{"fullyQualifiedName": f.object, "kind": "resource"}]}],
            "partialFingerprints": {"podnetFinding/v1": fingerprint},
            "properties": {"field": f.field, "evidence": dict(f.evidence), "fix": f.fix,
                           "severity": f.severity}}


def sarif(findings: Sequence[Finding], checks: Sequence[Check], locate: Locate,
          version: str) -> dict[str, Any]:
    """The SARIF log: every check that ran is a rule, whether or not it found anything."""
    rules = sorted(checks, key=lambda c: c.name)
    index = {c.name: i for i, c in enumerate(rules)}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "podnet", "version": version,
                            "rules": [_rule(c) for c in rules]}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.check], locate) for f in findings]}]}
