"""apps/v1 and batch/v1 workloads (legacy ``apps/v1beta1``/``v1beta2`` read as v1): the controller
and its pod template, expanded into pods by ``model/workloads.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podnet.errors import SourceRef
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    Pod,
    frozen_map,
)
from podnet.model.parse.common import (
    _labels,
    _meta,
    label_selector,
)
from podnet.model.parse.core import _pod_from_spec


@dataclass(frozen=True, slots=True)
class Workload:
    """A controller and its pod template, expanded into pods by ``workloads.py``."""

    kind: str
    namespace: str
    name: str
    source: SourceRef
    replicas: int
    template: Pod
    node_selector: Mapping[str, str]
    env: Mapping[str, str]
    args: tuple[str, ...] = ()  # every container's command and args, in order
    # a ReplicaSet a Deployment owns: its pods are the Deployment's, not expanded twice
    owned_by_deployment: bool = False


def _words(f: Fields, key: str) -> list[str]:
    """A container's command or args: strings, though YAML may make numbers of some."""
    value = f.raw(key, [])
    if not isinstance(value, list | tuple) or any(isinstance(v, dict | list) for v in value):
        raise f.error(key, "must be a list of strings")
    return [str(v) for v in value]


def _workload(doc: RawDoc) -> Workload:
    meta, src, ns, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    kind = src.kind
    spec = Fields(doc.body, src).sub("spec")
    if kind == "CronJob":
        spec = spec.sub("jobTemplate").sub("spec")
    template = spec.sub("template")
    tmeta = template.sub("metadata")
    labels = _labels(tmeta)
    sel = label_selector(spec.opt_sub("selector"))
    if sel is not None and not sel.empty and not sel.matches(labels) and kind != "Job":
        raise spec.error("selector", "does not match the pod template's labels "
                         "(the API server rejects this)")
    default_replicas = 1
    if kind in ("Job", "CronJob"):
        replicas = spec.int("parallelism", default_replicas)
    else:
        replicas = spec.int("replicas", default_replicas)
    if replicas is None or replicas < 0:
        raise spec.error("replicas", "must be zero or more")
    pspec = template.sub("spec")
    pod = _pod_from_spec(ns, name, labels, pspec, src, kind, name)
    if kind == "StatefulSet" and spec.str("serviceName") and not pod.subdomain:
        # the StatefulSet controller sets each pod's subdomain to its governing Service
        pod = pod._replace(subdomain=spec.str("serviceName"))
    env: dict[str, str] = {}
    args: list[str] = []
    for c in pspec.items("containers"):
        for e in c.items("env"):
            if e.has("value"):
                env.setdefault(e.str("name"), e.str("value"))
        args += (str(a) for a in (*_words(c, "command"), *_words(c, "args")))
    owned = kind == "ReplicaSet" and any(ref.str("kind") == "Deployment"
                                         for ref in meta.items("ownerReferences"))
    return Workload(kind, ns, name, src, replicas, pod, frozen_map(pspec.str_map("nodeSelector")),
                    frozen_map(env), tuple(args), owned)
