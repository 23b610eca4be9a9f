"""Every naming scheme podnet uses, in one place.

- Objects: ``namespace/name``; Service ports ``namespace/name:port`` (kube-proxy's
  ``ServicePortName``: the ``:port`` part only when the port is named).
- Workload pods: ``<workload>-<ordinal>`` (Deployment, ReplicaSet, StatefulSet, Job, CronJob),
  ``<daemonset>-<node>`` (DaemonSet). Real clusters add random suffixes; podnet's names are
  deterministic so outputs are byte-stable and a person can type them.
- Nodes synthesised when none are given: ``node-1`` … ``node-N``.
"""

from __future__ import annotations


def qualified(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def workload_pod(workload: str, ordinal: int) -> str:
    return f"{workload}-{ordinal}"


def daemonset_pod(daemonset: str, node: str) -> str:
    return f"{daemonset}-{node}"


def synthetic_node(index: int) -> str:
    return f"node-{index + 1}"
