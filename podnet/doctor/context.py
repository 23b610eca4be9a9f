"""What every check may ask of one cluster, computed once: the Analysis (compiled policies,
Service plans), pods grouped by the object that declares them, the policies of each namespace,
and the raw documents (for what the typed model drops: apiVersions, scripts, node capacity)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from podnet.analysis import Analysis
from podnet.errors import SourceRef
from podnet.model import kubeproxy
from podnet.model.cluster import Cluster
from podnet.model.load import RawDoc
from podnet.model.objects import Other, Pod
from podnet.model.parse import CLUSTER_SCOPED
from podnet.model.selectors import LabelSelector
from podnet.policy.matcher import Target

if TYPE_CHECKING:
    from podnet.doctor.etcd import DiskReport
    from podnet.doctor.sysctls import NodeSysctls

Labels = Mapping[str, str]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Group:
    """The pods one object declares (a Deployment's replicas, a DaemonSet's per-node pods, or
    one Pod): findings about pods are reported once per group, not once per replica."""

    source: SourceRef
    pods: tuple[Pod, ...]

    @property
    def object(self) -> str:
        return self.source.object()

    @property
    def first(self) -> Pod:
        return self.pods[0]

    def describe(self) -> str:
        """'pods of Deployment shop/web (3)' or 'pod shop/debug'."""
        if self.source.kind == "Pod":
            return f"pod {self.first.key}"
        n = len(self.pods)
        return f"{'the pod' if n == 1 else f'the {n} pods'} of {self.object}"


def raw_source(doc: RawDoc) -> SourceRef:
    """The SourceRef parse.py would give a raw document (kind, defaulted namespace, name)."""
    body = doc.body
    kind = str(body.get("kind", ""))
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = str(meta.get("name") or meta.get("generateName") or "")
    ns = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or "default")
    return SourceRef(file=doc.file, doc=doc.doc, kind=kind, namespace=ns, name=name)


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string leaf of a raw document with its field path (``data.setup.sh``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk_strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from walk_strings(v, f"{path}[{i}]")


class Context:
    def __init__(self, analysis: Analysis, docs: Sequence[RawDoc] = (), *,
                 conns_per_pod: int = 100, disk_report: DiskReport | None = None,
                 node_sysctls: NodeSysctls | None = None) -> None:
        self.analysis = analysis
        self.cluster: Cluster = analysis.cluster
        self.docs = docs
        self.conns_per_pod = conns_per_pod
        # what the input's manifests cannot say: a node's own measurements and settings
        self.disk_report = disk_report
        self.node_sysctls = node_sysctls
        self._selecting: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[Target, ...]] = {}
        self._any_match: dict[tuple[str, LabelSelector, bool], bool] = {}
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A value several checks of one concern share, computed on first use."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]

    @cached_property
    def groups(self) -> tuple[Group, ...]:
        by_source: dict[SourceRef, list[Pod]] = {}
        for p in self.cluster.pods:
            by_source.setdefault(p.source, []).append(p)
        return tuple(Group(s, tuple(ps)) for s, ps in by_source.items())

    @cached_property
    def targets(self) -> Mapping[str, Mapping[str, tuple[Target, ...]]]:
        """direction -> namespace -> the policies' targets there (a policy only selects pods of
        its own namespace, so a pod need only be tried against those)."""
        out: dict[str, dict[str, list[Target]]] = {"ingress": {}, "egress": {}}
        compiled = self.analysis.compiled
        for direction, targets in (("ingress", compiled.ingress), ("egress", compiled.egress)):
            for t in targets:
                out[direction].setdefault(t.namespace, []).append(t)
        return {d: {ns: tuple(ts) for ns, ts in m.items()} for d, m in out.items()}

    def selecting(self, direction: str, pod: Pod) -> tuple[Target, ...]:
        """The targets of ``direction`` whose podSelector picks ``pod``."""
        key = (direction, pod.namespace, tuple(pod.labels.items()))
        hit = self._selecting.get(key)
        if hit is None:
            hit = tuple(t for t in self.targets[direction].get(pod.namespace, ())
                        if t.pod_selector.matches(pod.labels))
            self._selecting[key] = hit
        return hit

    @cached_property
    def label_sets(self) -> Mapping[tuple[str, bool], tuple[Labels, ...]]:
        """(namespace, hostNetwork) -> the distinct label maps of its pods."""
        seen: dict[tuple[str, bool], dict[tuple[tuple[str, str], ...], Labels]] = {}
        for p in self.cluster.pods:
            seen.setdefault((p.namespace, p.host_network), {}).setdefault(
                tuple(p.labels.items()), p.labels)
        return {k: tuple(v.values()) for k, v in seen.items()}

    def any_pod(self, namespace: str, selector: LabelSelector, host_network: bool = False) -> bool:
        """Does ``selector`` pick some pod of ``namespace`` (pod-network pods by default)?"""
        key = (namespace, selector, host_network)
        hit = self._any_match.get(key)
        if hit is None:
            hit = any(selector.matches(labels)
                      for labels in self.label_sets.get((namespace, host_network), ()))
            self._any_match[key] = hit
        return hit

    def configs(self, kind: str) -> list[Other]:
        return [o for o in self.cluster.configs if o.kind == kind]

    @cached_property
    def proxy_config(self) -> Other | None:
        """The KubeProxyConfiguration kube-proxy runs with (ConfigMap kube-system/kube-proxy's
        over a standalone document: ``podnet.model.kubeproxy``)."""
        return kubeproxy.effective(self.cluster.configs)

    def source_of(self, where: str) -> SourceRef:
        """The source of the object an origin string names (``ConfigMap kube-system/x``), as
        NetConfig records where each setting came from; ``<defaults>`` when none does."""
        for src in (*(o.source for o in self.cluster.configs),
                    *(w.source for w in self.cluster.workloads)):
            if src.object() == where:
                return src
        return SourceRef(file="<defaults>")

    @cached_property
    def first_file(self) -> str:
        """The first input file: where a finding about the cluster as a whole points."""
        return next((d.file for d in self.docs), "<input>")
