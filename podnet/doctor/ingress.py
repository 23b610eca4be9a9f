"""Ingress findings: a controller NetworkPolicy keeps from its backends (requests time out, 504),
annotations the controller ignores (and why), backends that do not exist (503)."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check, to_yaml
from podnet.ingress.controllers import controller_pods, find_controllers
from podnet.ingress.routes import DEFAULT_SERVER, Table, build_all
from podnet.predict.ingress import reachability


def _tables(ctx: Context) -> tuple[Table, ...]:
    return ctx.memo("ingress-tables", lambda: build_all(ctx.cluster, find_controllers(ctx.cluster)))


def _ingress(ctx: Context, key: str):  # type: ignore[no-untyped-def]
    return next((i for i in ctx.cluster.ingresses if f"{i.namespace}/{i.name}" == key), None)


@check("ingress-controller-not-admitted",
       summary="NetworkPolicy keeps the ingress controller from a backend: requests time out.",
       example="the controller ingress-nginx/ingress-nginx-controller cannot reach "
               "production/backend-service (production/default-deny isolates its pods): "
               "https://api.coolvds-demo.no/ gets 504 after 5 s")
def controller_not_admitted(ctx: Context) -> Iterator[Finding]:
    for t in _tables(ctx):
        reach = reachability(ctx.analysis, t.controller)
        pods = controller_pods(ctx.cluster, t.controller)
        if reach is None or not pods:
            continue
        seen: set[str] = set()
        for s in t.servers.values():
            if s.auth_tls_error:
                continue  # the server answers 403 before it would connect anywhere
            for loc in s.locations:
                up = loc.upstream
                if up.builtin or not up.endpoints or up.name in seen or loc.annotations.denied:
                    continue
                blocked = [e for e in up.endpoints if not reach(e)]
                if not blocked:
                    continue
                seen.add(up.name)
                ing = _ingress(ctx, loc.ingress)
                src = ing.source if ing is not None else t.controller.source
                dst = ctx.cluster.pod_by_ip(blocked[0].rpartition(":")[0])
                host = s.host if s.host != DEFAULT_SERVER else "*"
                every = len(blocked) == len(up.endpoints)
                isolating = sorted({tg.policy for tg in ctx.selecting("ingress", dst)}) if dst else []
                port = blocked[0].rpartition(":")[2]
                fix = to_yaml({
                    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "allow-ingress-controller",
                                 "namespace": dst.namespace if dst else ""},
                    "spec": {"podSelector": {"matchLabels": dict(dst.labels) if dst else {}},
                             "policyTypes": ["Ingress"],
                             "ingress": [{"from": [{
                                 "namespaceSelector": {"matchLabels": {
                                     "kubernetes.io/metadata.name": t.controller.namespace}},
                                 "podSelector": {"matchLabels": dict(pods[0].labels)}}],
                                 "ports": [{"protocol": "TCP", "port": int(port)}]}]}})
                yield Finding(
                    "ingress-controller-not-admitted", "error" if every else "warning",
                    f"Ingress {loc.ingress}" if loc.ingress else t.controller.source.object(),
                    src, "spec.rules",
                    f"the controller {t.controller.key} cannot reach "
                    f"{'any' if every else len(blocked)} of {len(up.endpoints)} endpoints of "
                    f"{up.service} ({', '.join(isolating) or 'NetworkPolicy'} isolates them): "
                    + (f"requests to {host}{loc.ingress_path or '/'} get 504 after "
                       f"{loc.annotations.connect_timeout} s" if every else
                       f"those requests wait {loc.annotations.connect_timeout} s before nginx "
                       "tries another endpoint"),
                    {"controller": t.controller.key, "service": up.service,
                     "blocked": blocked, "endpoints": list(up.endpoints),
                     "policies": isolating},
                    "admit the controller's pods into the backend:\n" + fix)


@check("ingress-annotation-ignored",
       summary="An Ingress annotation the controller does not read, or reads as invalid.",
       example="nginx.org/proxy-buffer-size on production/production-ingress is ignored: "
               "another controller's annotation (NGINX Inc.'s)")
def annotation_ignored(ctx: Context) -> Iterator[Finding]:
    for t in _tables(ctx):
        for key, parsed in sorted(t.parsed.items()):
            ing = _ingress(ctx, key)
            if ing is None:
                continue
            for ig in parsed.ignored:
                yield Finding(
                    "ingress-annotation-ignored", "warning", f"Ingress {key}", ing.source,
                    f"metadata.annotations[{ig.key}]",
                    f"{ig.key}: {ig.value!r} on {key} has no effect on {t.controller.key}: "
                    f"{ig.reason}",
                    {"annotation": ig.key, "value": ig.value, "controller": t.controller.key},
                    f"use the controller's prefix ({t.controller.annotations_prefix}/...) and a "
                    "valid value, or remove the annotation")
        for key, why in sorted(t.ignored.items()):
            ing = _ingress(ctx, key)
            if ing is None or "drop" not in why.lower():
                continue
            yield Finding(
                "ingress-annotation-ignored", "error", f"Ingress {key}", ing.source,
                "metadata.annotations", f"{t.controller.key} drops the whole Ingress {key}: {why}",
                {"controller": t.controller.key}, "fix or remove the annotation the reason names")


@check("ingress-backend-missing",
       summary="An Ingress backend whose Service or port does not exist: its requests get 503.",
       example="Ingress shop/web sends /api to shop/api:80, which is not in the input: "
               "every request there gets 503")
def backend_missing(ctx: Context) -> Iterator[Finding]:
    for t in _tables(ctx):
        seen: set[tuple[str, str]] = set()
        for s in t.servers.values():
            for loc in s.locations:
                up = loc.upstream
                if up.builtin or up.endpoints or (loc.ingress, up.name) in seen:
                    continue
                seen.add((loc.ingress, up.name))
                ing = _ingress(ctx, loc.ingress)
                if ing is None:
                    continue
                missing = "not in the input" in up.problem or "has no port" in up.problem
                host = s.host if s.host != DEFAULT_SERVER else "*"
                yield Finding(
                    "ingress-backend-missing", "error" if missing else "warning",
                    f"Ingress {loc.ingress}", ing.source, "spec.rules",
                    f"{host}{loc.ingress_path or '/'} goes to {up.service}:{up.port}: "
                    f"{up.problem}; every request there gets 503",
                    {"service": up.service, "port": str(up.port), "problem": up.problem},
                    "point the path at a Service and port that exist and have ready endpoints")
