"""NetworkPolicy semantics: compile, per-flow verdicts, vectorised reachability.

The names below are imported on first use (PEP 562): ``podnet.policy.verdict`` and the others
that answer one flow do not pay for numpy, which only the matrices need."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podnet.policy.compile import Compiled, compile_cluster, compile_policies
    from podnet.policy.connset import ConnSet
    from podnet.policy.matrix import ClassMatrix, class_matrix, count_allowed, pod_matrix
    from podnet.policy.verdict import Evaluator, Verdict

_HOME = {"Compiled": "compile", "compile_cluster": "compile", "compile_policies": "compile",
         "ConnSet": "connset", "ClassMatrix": "matrix", "class_matrix": "matrix",
         "count_allowed": "matrix", "pod_matrix": "matrix", "Evaluator": "verdict",
         "Verdict": "verdict"}

__all__ = ["ClassMatrix", "Compiled", "ConnSet", "Evaluator", "Verdict", "class_matrix",
           "compile_cluster", "compile_policies", "count_allowed", "pod_matrix"]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
