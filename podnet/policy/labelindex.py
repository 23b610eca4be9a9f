"""Vectorised label-selector evaluation over many label maps (pods, classes, namespaces).

Each label key becomes an array of value codes (-1 where the key is absent), so a selector is
evaluated over thousands of items with a handful of numpy comparisons instead of a Python
call per item. Semantics are ``Requirement.matches``'s (NotIn and DoesNotExist hold on an
absent key); a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from podnet.model.selectors import LabelSelector


class LabelIndex:
    def __init__(self, items: Sequence[Mapping[str, str]]) -> None:
        self.n = len(items)
        self._vocab: dict[str, dict[str, int]] = {}
        codes: dict[str, list[tuple[int, int]]] = {}
        for i, labels in enumerate(items):
            for k, v in labels.items():
                voc = self._vocab.setdefault(k, {})
                code = voc.setdefault(v, len(voc))
                codes.setdefault(k, []).append((i, code))
        self._codes: dict[str, np.ndarray] = {}
        for k, pairs in codes.items():
            arr = np.full(self.n, -1, dtype=np.int32)
            idx = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
            val = np.fromiter((p[1] for p in pairs), dtype=np.int32, count=len(pairs))
            arr[idx] = val
            self._codes[k] = arr
        self._absent = np.full(self.n, -1, dtype=np.int32)
        self._cache: dict[LabelSelector, np.ndarray] = {}

    def _key(self, key: str) -> np.ndarray:
        return self._codes.get(key, self._absent)

    def _value_codes(self, key: str, values: Sequence[str]) -> list[int]:
        voc = self._vocab.get(key, {})
        return [voc[v] for v in values if v in voc]

    def match(self, selector: LabelSelector) -> np.ndarray:
        """Boolean vector: which items the selector matches."""
        hit = self._cache.get(selector)
        if hit is not None:
            return hit
        out = np.ones(self.n, dtype=bool)
        for k, v in selector.match_labels:
            codes = self._value_codes(k, [v])
            out &= (self._key(k) == codes[0]) if codes else False
        for r in selector.match_expressions:
            col = self._key(r.key)
            if r.operator == "Exists":
                out &= col >= 0
            elif r.operator == "DoesNotExist":
                out &= col < 0
            else:
                inside = np.isin(col, self._value_codes(r.key, r.values))
                out &= inside if r.operator == "In" else ~inside
        out.setflags(write=False)
        self._cache[selector] = out
        return out
