"""A finding, the severities, and the catalogue of checks every concern module registers into.

A check is a function of the ``Context`` that yields findings; its name is the stable contract
(``--check``, ``--skip``, SARIF rule ids), so it is registered once, with the one-line summary
SARIF shows and the example the README's table gives. Modules added later (Ingress, etcd) register
the same way: ``@check("name", summary=..., example=...)`` at import, and their module name in
``podnet.doctor.CONCERNS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import yaml

from podnet.errors import SourceRef

if TYPE_CHECKING:
    from podnet.doctor.context import Context

SEVERITIES = ("info", "warning", "error")
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing podnet found. ``object`` names what it is about (``Service shop/web``);
    ``source`` is where to point a reader (the object's own document, or for an object that
    exists only implicitly, the document that brought it in)."""

    check: str
    severity: str
    object: str
    source: SourceRef
    field: str
    message: str
    evidence: Mapping[str, Any] = default(default_factory=dict)
    fix: str = ""

    @property
    def file(self) -> str:
        return self.source.file

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "object": self.object,
                "file": self.file, "field": self.field, "message": self.message,
                "evidence": dict(self.evidence), "fix": self.fix}

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        return (-RANK[self.severity], self.check, self.object, self.file, self.field,
                self.message)


def host_finding(check: str, severity: str, obj: str, field: str, message: str, reading: str,
                 fix: str = "", file: str = "") -> Finding:
    """A finding about the machine podnet runs on (``podnet node check``, ``podnet disk``): the
    object is the host's (an interface, a sysctl, a file), the evidence the reading itself."""
    if severity not in RANK:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    return Finding(check, severity, obj, SourceRef(file=file or "<host>"), field, message,
                   {"reading": reading}, fix)


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity, worst first, zero included."""
    counts = dict.fromkeys(reversed(SEVERITIES), 0)
    for f in findings:
        counts[f.severity] += 1
    return counts


def worst(findings: Iterable[Finding]) -> str | None:
    ranked = [RANK[f.severity] for f in findings]
    return SEVERITIES[max(ranked)] if ranked else None


Run = Callable[["Context"], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    concern: str  # the module that holds it: policy, dns, services, ...
    summary: str  # one line: what goes wrong on the wire (SARIF shortDescription)
    example: str  # a one-line example finding (the README's table)
    run: Run


CATALOGUE: dict[str, Check] = {}


def check(name: str, *, summary: str, example: str) -> Callable[[Run], Run]:
    """Register a check under its stable name (a name may be registered once)."""
    def register(fn: Run) -> Run:
        if name in CATALOGUE:
            raise ValueError(f"doctor check {name!r} is registered twice")
        CATALOGUE[name] = Check(name, fn.__module__.rsplit(".", 1)[-1], summary, example, fn)
        return fn
    return register


def object_name(kind: str, namespace: str, name: str) -> str:
    return SourceRef(kind=kind, namespace=namespace, name=name).object()


def to_yaml(obj: Any) -> str:
    """A fix as YAML, keys in the order written (what a reader pastes into a manifest)."""
    return _yaml(json.dumps(obj))


@lru_cache(maxsize=4096)
def _yaml(text: str) -> str:
    # many findings share a fix (the same patch for every namespace's workloads): emit each once
    return str(yaml.dump(json.loads(text), Dumper=_Dumper, sort_keys=False,
                         default_flow_style=False, width=100))


_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
