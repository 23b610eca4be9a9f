"""NetworkPolicy semantics: compile, per-flow verdicts, vectorised reachability.

The vectorised half (numpy) is imported on first use: a per-flow verdict (``podnet http``'s
controller -> backend hop, ``explain``) needs none of it."""

from typing import TYPE_CHECKING, Any

from podnet.policy.compile import Compiled, compile_cluster, compile_policies
from podnet.policy.connset import ConnSet
from podnet.policy.verdict import Evaluator, Verdict

if TYPE_CHECKING:
    from podnet.policy.matrix import ClassMatrix, class_matrix, count_allowed, pod_matrix

__all__ = ["ClassMatrix", "Compiled", "ConnSet", "Evaluator", "Verdict", "class_matrix",
           "compile_cluster", "compile_policies", "count_allowed", "pod_matrix"]

_MATRIX = ("ClassMatrix", "class_matrix", "count_allowed", "pod_matrix")


def __getattr__(name: str) -> Any:
    if name in _MATRIX:
        from podnet.policy import matrix

        return getattr(matrix, name)
    raise AttributeError(f"module 'podnet.policy' has no attribute {name!r}")
