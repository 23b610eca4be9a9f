"""Inline manifests for the Ingress tests: an echo Service with pods, Ingresses, a controller."""

from __future__ import annotations

import base64
from typing import Any

from helpers import cluster_of

from podnet.ingress.controllers import find_controllers
from podnet.ingress.request import Outcome, handle, request
from podnet.ingress.routes import DEFAULT_SERVER, Table, build_all

PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
KEY = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n").decode()


def service(name: str, app: str, ns: str = "default", port: int = 80, target: int = 8080,
            replicas: int = 1) -> str:
    """A Service and `replicas` ready pods behind it (none when replicas is 0)."""
    pods = "".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {app}-{i}, namespace: {ns}, "
        f"labels: {{app: {app}}}}}\nspec:\n  containers:\n  - name: c\n"
        f"    ports: [{{containerPort: {target}}}]\n---\n" for i in range(replicas))
    return (pods + f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  selector: {{app: {app}}}\n  ports: [{{name: http, port: {port}, "
            f"targetPort: {target}}}]\n---\n")


ECHO = service("echo", "echo") + service("canary", "canary") + service("empty", "none", replicas=0)


def ingress(name: str, host: str = "foo.bar", paths: Any = (("/", "Prefix", "echo", 80),),
            annotations: dict[str, str] | None = None, ns: str = "default",
            tls: str | None = None, cls: str | None = "nginx", created: str | None = None,
            default_backend: str | None = None, legacy_class: str | None = None) -> str:
    meta = {"name": name, "namespace": ns}
    lines = ["apiVersion: networking.k8s.io/v1", "kind: Ingress", "metadata:",
             f"  name: {meta['name']}", f"  namespace: {ns}"]
    if created:
        lines.append(f"  creationTimestamp: {created!r}")
    anns = dict(annotations or {})
    if legacy_class is not None:
        anns["kubernetes.io/ingress.class"] = legacy_class
    if anns:
        lines.append("  annotations:")
        lines += [f"    {k}: {v!r}" for k, v in anns.items()]
    lines.append("spec:")
    if cls:
        lines.append(f"  ingressClassName: {cls}")
    if default_backend:
        lines.append(f"  defaultBackend: {{service: {{name: {default_backend}, "
                     "port: {number: 80}}}")
    if tls is not None:
        lines.append(f"  tls: [{{hosts: [{host}], secretName: {tls}}}]")
    if paths is not None:
        lines.append("  rules:")
        lines.append(f"  - host: {host!r}" if host else "  - http:")
        if host:
            lines.append("    http:")
        lines.append("      paths:")
        for path, ptype, svc, port in paths:
            p = f"{{number: {port}}}" if isinstance(port, int) else f"{{name: {port}}}"
            lines.append(f"      - {{path: {path!r}, pathType: {ptype}, backend: {{service: "
                         f"{{name: {svc}, port: {p}}}}}}}")
    return "\n".join(lines) + "\n---\n"


def ingress_class(name: str = "nginx", controller: str = "k8s.io/ingress-nginx",
                  default: bool = False) -> str:
    ann = ("\n  annotations: {ingressclass.kubernetes.io/is-default-class: \"true\"}"
           if default else "")
    return (f"apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: {name}"
            f"{ann}\nspec: {{controller: {controller}}}\n---\n")


def controller(*args: str, name: str = "ingress-nginx-controller", ns: str = "ingress-nginx",
               config: dict[str, str] | None = None) -> str:
    arg_lines = "".join(f"        - {a!r}\n" for a in ("/nginx-ingress-controller", *args))
    out = (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n"
           f"spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
           f"    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n"
           f"      - name: controller\n        args:\n{arg_lines}---\n")
    if config is not None:
        data = "".join(f"  {k}: {v!r}\n" for k, v in config.items())
        out += (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                f"data:\n{data}---\n")
    return out


def tls_secret(name: str, ns: str = "default", kind: str = "kubernetes.io/tls",
               keys: tuple[str, ...] = ("tls.crt", "tls.key")) -> str:
    data = "".join(f"  {k}: {PEM if k != 'tls.key' else KEY}\n" for k in keys)
    return (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"type: {kind}\ndata:\n{data}---\n")


def tables(*docs: str) -> tuple[Table, ...]:
    cluster = cluster_of(ECHO + ingress_class() + "".join(docs))
    return build_all(cluster, find_controllers(cluster))


def table(*docs: str) -> Table:
    return tables(*docs)[0]


def http(t: Table | str, url: str, **kw: Any) -> Outcome:
    if isinstance(t, str):
        t = table(t)
    return handle(t, request(url, **kw))


def served(t: Table, host: str) -> bool:
    return t.server_for(host).host != DEFAULT_SERVER
