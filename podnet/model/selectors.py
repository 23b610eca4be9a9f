"""Label selectors with apimachinery's semantics, corner cases included.

``k8s.io/apimachinery/pkg/labels`` ``Requirement.Matches``:
- ``In``/``Equals``: the key must be present and its value in the set.
- ``NotIn``/``NotEquals``: true when the key is absent (unlike Cyclonus, which says false).
- ``Exists`` / ``DoesNotExist``: presence only.
- ``matchLabels {k: v}`` is ``k In (v)``, so ``{k: ""}`` needs the key present with an empty value.
An empty selector (no labels, no expressions) matches everything; a nil selector is the
caller's business (``None`` in podnet's model, whose meaning depends on the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()
    # The values in the order written: no part of the meaning, but tools that echo a selector
    # back (netpol-analyzer's exposure report) print them so.
    written: tuple[str, ...] = field(default=(), compare=False, hash=False)

    def matches(self, labels: Labels) -> bool:
        op = self.operator
        if op == "In":
            return self.key in labels and labels[self.key] in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        raise ValueError(f"unknown selector operator {op!r}")

    def describe(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """matchLabels and matchExpressions, sorted so equal selectors compare and hash equal."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Labels) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value or key not in labels:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def describe(self) -> str:
        if self.empty:
            return "all"
        parts = [f"{k}={v}" for k, v in self.match_labels]
        parts += [r.describe() for r in self.match_expressions]
        return ",".join(parts)


EVERYTHING = LabelSelector()


def selector(match_labels: Mapping[str, str] | None = None,
             expressions: tuple[Requirement, ...] = ()) -> LabelSelector:
    """Build a selector in canonical (sorted) form."""
    labels = tuple(sorted((match_labels or {}).items()))
    exprs = tuple(sorted(
        (Requirement(r.key, r.operator, tuple(sorted(set(r.values))), r.written or r.values)
         for r in expressions),
        key=lambda r: (r.key, r.operator, r.values)))
    return LabelSelector(labels, exprs)
