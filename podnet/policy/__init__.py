"""NetworkPolicy semantics: compile, per-flow verdicts, vectorised reachability."""

from podnet.policy.compile import Compiled, compile_cluster, compile_policies
from podnet.policy.connset import ConnSet
from podnet.policy.matrix import ClassMatrix, class_matrix, count_allowed, pod_matrix
from podnet.policy.verdict import Evaluator, Verdict

__all__ = ["ClassMatrix", "Compiled", "ConnSet", "Evaluator", "Verdict", "class_matrix",
           "compile_cluster", "compile_policies", "count_allowed", "pod_matrix"]
