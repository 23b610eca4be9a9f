"""A Gateway API test bed shaped like the conformance suite's base (conformance/base/
manifests.yaml in kubernetes-sigs/gateway-api): an infra namespace with three Gateways
(routes from the same namespace, from all, from namespaces labelled as backends) and three
backends, a web-backend namespace and an app-backend namespace labelled as backends. Written
for podnet; the scenarios on top reproduce the suite's test cases."""

from __future__ import annotations

from typing import Any

from helpers import cluster_of
from ingress_kit import KEY, PEM, service

from podnet.gateway.attach import Config, build
from podnet.gateway.router import handle
from podnet.ingress.request import Outcome, request

INFRA = "gateway-conformance-infra"


def namespace(name: str, labels: dict[str, str] | None = None) -> str:
    lab = f", labels: {labels}" if labels else ""
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}{lab}}}\n---\n"


def gateway(name: str, listeners: str, ns: str = INFRA, cls: str = "podnet") -> str:
    return (f"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: {name}, "
            f"namespace: {ns}}}\nspec:\n  gatewayClassName: {cls}\n  listeners:\n{listeners}---\n")


def listener(name: str = "http", port: int = 80, frm: str = "Same", hostname: str = "",
             protocol: str = "HTTP", cert: str = "", selector: str = "") -> str:
    out = f"  - name: {name}\n    port: {port}\n    protocol: {protocol}\n"
    if hostname:
        out += f"    hostname: {hostname!r}\n"
    out += f"    allowedRoutes:\n      namespaces:\n        from: {frm}\n"
    if selector:
        out += f"        selector: {{matchLabels: {selector}}}\n"
    if cert:
        out += f"    tls:\n      certificateRefs:\n      - {{kind: Secret, name: {cert}}}\n"
    return out


def tls_secret(name: str, ns: str = INFRA) -> str:
    return (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"type: kubernetes.io/tls\ndata: {{tls.crt: {PEM}, tls.key: {KEY}}}\n---\n")


BASE = (
    namespace(INFRA, {"gateway-conformance": "infra"})
    + namespace("gateway-conformance-app-backend", {"gateway-conformance": "backend"})
    + namespace("gateway-conformance-web-backend", {"gateway-conformance": "backend"})
    + "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: podnet}\n"
      "spec: {controllerName: podnet.example/gateway}\n---\n"
    + gateway("same-namespace", listener())
    + gateway("all-namespaces", listener(frm="All"))
    + gateway("backend-namespaces", listener(frm="Selector",
                                             selector="{gateway-conformance: backend}"))
    + "".join(service(f"infra-backend-{v}", f"infra-backend-{v}", INFRA, 8080, 3000)
              for v in ("v1", "v2", "v3"))
    + service("web-backend", "web-backend", "gateway-conformance-web-backend", 8080, 3000)
    + service("app-backend-v1", "app-backend-v1", "gateway-conformance-app-backend", 8080, 3000)
)


def route(name: str, rules: str, parents: str = "[{name: same-namespace}]", ns: str = INFRA,
          hostnames: tuple[str, ...] = (), created: str = "") -> str:
    meta = f"{{name: {name}, namespace: {ns}" + (f", creationTimestamp: '{created}'}}"
                                                 if created else "}")
    hosts = f"  hostnames: {list(hostnames)}\n" if hostnames else ""
    return (f"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {meta}\n"
            f"spec:\n  parentRefs: {parents}\n{hosts}  rules:\n{rules}---\n")


def rule(backend: str = "infra-backend-v1", path: str = "", ptype: str = "PathPrefix",
         port: int = 8080, extra: str = "") -> str:
    match = f"    - matches:\n      - path: {{type: {ptype}, value: {path!r}}}\n" if path else \
        "    -\n"
    return match + extra + f"      backendRefs:\n      - {{name: {backend}, port: {port}}}\n"


def config(*docs: str) -> Config:
    return build(cluster_of(BASE + "".join(docs)))


def ask(cfg: Config, url: str, gateway: str = "same-namespace", **kw: Any) -> Outcome:
    return handle(cfg, f"{INFRA}/{gateway}", request(url, **kw))


def backend(o: Outcome) -> str | None:
    """The Service name that answers (the conformance suite's Backend), None when none does."""
    return o.backend.service.split("/")[1] if o.status == 200 and o.backend else None
