"""One finding: which check, how bad, on what, which field, what is wrong, the numbers that say
so, and what to do. Every check in podnet reports in this shape (json, table, sarif)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # stable kebab-case id (a SARIF ruleId)
    severity: str  # one of SEVERITIES
    object: str  # what the finding is about: "node oslo-1", "interface eth0", a file path
    field: str  # the setting or value judged: a sysctl name, "mtu", "fdatasync p99"
    message: str
    evidence: str  # the numbers read, and where they were read
    fix: str = ""
    file: str = ""  # the manifest or host file the evidence came from, when there is one

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "object": self.object,
                "file": self.file, "field": self.field, "message": self.message,
                "evidence": self.evidence, "fix": self.fix}


def summary(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each severity (every severity present, zero included)."""
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}


def worst(findings: list[Finding]) -> str | None:
    ranked = [SEVERITIES.index(f.severity) for f in findings]
    return SEVERITIES[max(ranked)] if ranked else None
