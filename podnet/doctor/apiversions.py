"""apiVersions the API server no longer serves: ``kubectl apply`` of such a manifest fails with
"no matches for kind". podnet reads them (parse.py upgrades the legacy forms), so the fix can
show the object converted to the version that replaced it.

The table follows Kubernetes' deprecated API migration guide (the release that stopped serving
each version)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from podnet.doctor.context import Context, raw_source
from podnet.doctor.finding import Finding, check, to_yaml

APPS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision")

# apiVersion -> kind ("*": every kind of the group version) -> (current apiVersion, removed in)
REMOVED: dict[str, dict[str, tuple[str, str]]] = {
    "extensions/v1beta1": {
        "Ingress": ("networking.k8s.io/v1", "1.22"),
        "NetworkPolicy": ("networking.k8s.io/v1", "1.16"),
        **{k: ("apps/v1", "1.16") for k in ("Deployment", "DaemonSet", "ReplicaSet")},
        "PodSecurityPolicy": ("", "1.16")},
    "apps/v1beta1": {k: ("apps/v1", "1.16") for k in APPS},
    "apps/v1beta2": {k: ("apps/v1", "1.16") for k in APPS},
    "networking.k8s.io/v1beta1": {"Ingress": ("networking.k8s.io/v1", "1.22"),
                                  "IngressClass": ("networking.k8s.io/v1", "1.22")},
    "rbac.authorization.k8s.io/v1beta1": {"*": ("rbac.authorization.k8s.io/v1", "1.22")},
    "apiextensions.k8s.io/v1beta1": {"*": ("apiextensions.k8s.io/v1", "1.22")},
    "admissionregistration.k8s.io/v1beta1": {"*": ("admissionregistration.k8s.io/v1", "1.22")},
    "certificates.k8s.io/v1beta1": {"*": ("certificates.k8s.io/v1", "1.22")},
    "coordination.k8s.io/v1beta1": {"*": ("coordination.k8s.io/v1", "1.22")},
    "storage.k8s.io/v1beta1": {**{k: ("storage.k8s.io/v1", "1.22") for k in (
        "CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")},
        "CSIStorageCapacity": ("storage.k8s.io/v1", "1.27")},
    "discovery.k8s.io/v1beta1": {"EndpointSlice": ("discovery.k8s.io/v1", "1.25")},
    "batch/v1beta1": {"CronJob": ("batch/v1", "1.25")},
    "policy/v1beta1": {"PodDisruptionBudget": ("policy/v1", "1.25"),
                       "PodSecurityPolicy": ("", "1.25")},
    "events.k8s.io/v1beta1": {"Event": ("events.k8s.io/v1", "1.25")},
    "node.k8s.io/v1beta1": {"RuntimeClass": ("node.k8s.io/v1", "1.25")},
    "autoscaling/v2beta1": {"HorizontalPodAutoscaler": ("autoscaling/v2", "1.25")},
    "autoscaling/v2beta2": {"HorizontalPodAutoscaler": ("autoscaling/v2", "1.26")},
    "flowcontrol.apiserver.k8s.io/v1beta1": {"*": ("flowcontrol.apiserver.k8s.io/v1", "1.26")},
    "flowcontrol.apiserver.k8s.io/v1beta2": {"*": ("flowcontrol.apiserver.k8s.io/v1", "1.29")},
    "flowcontrol.apiserver.k8s.io/v1beta3": {"*": ("flowcontrol.apiserver.k8s.io/v1", "1.32")},
}


def removed(api_version: str, kind: str) -> tuple[str, str] | None:
    kinds = REMOVED.get(api_version)
    if kinds is None:
        return None
    return kinds.get(kind) or kinds.get("*")


def _backend(b: Any) -> Any:
    """A v1beta1 backend (serviceName/servicePort) in v1 form (service.name, port.number|name)."""
    if not isinstance(b, dict) or "serviceName" not in b:
        return b
    port = b.get("servicePort")
    out = {k: v for k, v in b.items() if k not in ("serviceName", "servicePort")}
    text = str(port)
    number = port if isinstance(port, int) else int(text) if text.isdigit() else None
    out["service"] = {"name": b["serviceName"],
                      "port": {"number": number} if number is not None else {"name": port}}
    return out


def convert(body: dict[str, Any], current: str) -> dict[str, Any]:
    """The object as the current apiVersion spells it (what the API server's conversion does for
    the fields that moved; every other field is kept as written)."""
    out = copy.deepcopy(body)
    out["apiVersion"] = current
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    if out.get("kind") == "Ingress":
        if "backend" in spec:
            spec["defaultBackend"] = _backend(spec.pop("backend"))
        for rule in spec.get("rules") or []:
            for path in ((rule or {}).get("http") or {}).get("paths") or []:
                if isinstance(path, dict):
                    path.setdefault("pathType", "ImplementationSpecific")
                    path["backend"] = _backend(path.get("backend"))
    elif out.get("kind") in APPS and current == "apps/v1" and "selector" not in spec:
        # apps/v1 requires the selector the old versions defaulted from the template's labels
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        spec["selector"] = {"matchLabels": dict(labels)}
    return out


@check("removed-apiversion",
       summary="A manifest uses an apiVersion the API server no longer serves: kubectl apply "
               "fails with 'no matches for kind'.",
       example="Ingress production/production-ingress uses extensions/v1beta1, removed in "
               "Kubernetes 1.22: the fix gives it as networking.k8s.io/v1")
def removed_apiversion(ctx: Context) -> Iterator[Finding]:
    for doc in ctx.docs:
        api, kind = str(doc.body.get("apiVersion", "")), str(doc.body.get("kind", ""))
        hit = removed(api, kind)
        if hit is None:
            continue
        current, release = hit
        src = raw_source(doc)
        if current:
            fix = f"# as {current}\n" + to_yaml(convert(doc.body, current))
            then = f"; {current} replaces it"
        else:
            fix = ("PodSecurityPolicy has no successor API: enforce Pod Security Standards "
                   "with namespace labels (pod-security.kubernetes.io/enforce)")
            then = " with no successor API"
        yield Finding(
            "removed-apiversion", "error", src.object(), src, "apiVersion",
            f"{kind} {api} is no longer served (removed in Kubernetes {release}{then}): "
            f"kubectl apply fails with 'no matches for kind \"{kind}\" in version \"{api}\"', "
            "so this object never reaches the cluster",
            {"apiVersion": api, "current": current or None, "removedIn": release}, fix)
