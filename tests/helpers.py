"""Builders for test clusters from inline YAML."""

from __future__ import annotations

import textwrap
from typing import Any

from podnet.model import Cluster, build, read_texts


def cluster_of(yaml_text: str, nodes: int = 3) -> Cluster:
    return build(read_texts([("test.yaml", textwrap.dedent(yaml_text))]), nodes=nodes)


def pod(ns: str, name: str, labels: dict[str, str], ports: str = "", ip: str = "") -> str:
    lab = ", ".join(f"{k}: {v!r}" for k, v in labels.items())
    status = f"\nstatus: {{podIP: {ip}}}" if ip else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, "
            f"labels: {{{lab}}}}}\nspec:\n  containers:\n  - name: c\n    ports: [{ports}]"
            f"{status}\n---\n")


def namespace(name: str, labels: dict[str, str]) -> str:
    lab = ", ".join(f"{k}: {v!r}" for k, v in labels.items())
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{lab}}}}}\n---\n"


def policy_docs(policies: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """NetworkPolicy documents from the property tests' generated policies: each has a
    namespace, a podSelector, policyTypes and ingress/egress rules of optional peers and ports."""
    def rules(rs: list[dict], key: str) -> list[dict]:  # type: ignore[type-arg]
        return [{**({key: r["peers"]} if "peers" in r else {}),
                 **({"ports": r["ports"]} if "ports" in r else {})} for r in rs]
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": f"np{i}", "namespace": pol["ns"]},
             "spec": {"podSelector": pol["sel"], "policyTypes": pol["types"],
                      "ingress": rules(pol["ingress"], "from"),
                      "egress": rules(pol["egress"], "to")}}
            for i, pol in enumerate(policies)]


def counted(monkeypatch: Any, owner: object, name: str) -> list[int]:
    """Wrap ``owner.name`` so each call appends to the returned list (how many times a test's
    command built or classified), the real function still doing the work."""
    count: list[int] = []
    real = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        count.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return count
