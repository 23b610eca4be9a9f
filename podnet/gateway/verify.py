"""Proof that a migration changes nothing a client sees, or the list of what it changes.

A corpus of requests is drawn from the Ingress configuration (every host and alias, every
path with its boundary cases, both schemes where TLS is on, the headers canaries match, a
body over each size limit set explicitly, with and without a client certificate where TLS client
auth is on); each request goes through ingress-nginx's semantics and through the Gateway API
semantics of the migrated objects. A difference in status, redirect target or answering
Service is reported with its cause: the annotation or the semantic that makes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from podnet.analysis import Analysis
from podnet.gateway import router
from podnet.gateway.attach import Config
from podnet.gateway.router import DEFAULT_BODY_LIMIT
from podnet.ingress.controllers import controller_pods
from podnet.ingress.match import nginx_size
from podnet.ingress.request import Outcome, Request, handle, request
from podnet.ingress.routes import DEFAULT_SERVER, Server, Table
from podnet.predict.gateway import reachability as gateway_reachability
from podnet.predict.ingress import reachability


@dataclass(frozen=True, slots=True)
class Probe:
    request: Request
    why: str


@dataclass(frozen=True, slots=True)
class Difference:
    probe: Probe
    ingress: Outcome
    gateway: Outcome
    cause: str


def _paths(server: Server) -> list[str]:
    out = {"/"}
    for loc in server.locations:
        p = loc.ingress_path or "/"
        if not p.startswith("/") or any(ch in p for ch in "()[]{}*+?|^$\\"):
            continue  # a regular expression: its boundary cases are not paths
        stem = p.rstrip("/") or "/"
        out |= {p, stem, stem.rstrip("/") + "/", stem.rstrip("/") + "/sub"}
        if stem != "/":
            out |= {stem + "x", stem.upper()}
    return sorted(out)


def corpus(table: Table) -> Iterator[Probe]:
    for host, server in table.servers.items():
        if host == DEFAULT_SERVER:
            continue
        names = [host.replace("*", "wild", 1)] + [a for a in server.aliases if a != host]
        schemes = ["http"] + (["https"] if server.tls is not None else [])
        headers: list[dict[str, str]] = [{}]
        limits: set[int] = set()
        for loc in server.locations:
            c = loc.canary.canary if loc.canary is not None else None
            if c is not None and c.header:
                headers.append({c.header: c.header_value or "always"})
            # Only a limit someone set: nginx's 1m default is NGINX Gateway Fabric's too
            # (its client_max_body_size), so it is no difference for that data plane. A body
            # just over the limit, and one just over 1m: between the two one front refuses
            # what the other takes.
            size = nginx_size(loc.annotations.proxy_body_size)
            if size and loc.annotations.proxy_body_size != "1m":
                limits |= {size + 1, DEFAULT_BODY_LIMIT + 1}
        certs: list[str | None] = [None] + (["client"] if server.auth_tls is not None else [])
        for name in names:
            for scheme in schemes:
                for path in _paths(server):
                    for h in headers:
                        for cert in certs if scheme == "https" else [None]:
                            yield Probe(request(f"{scheme}://{name}{path}", headers=h,
                                                client_cert=cert), f"{scheme} {name}{path}")
                    for size in sorted(limits):
                        yield Probe(request(f"{scheme}://{name}{path}", method="POST",
                                            body_bytes=size, client_cert=certs[-1]),
                                    f"{scheme} {name}{path} body {size}")


def split(o: Outcome) -> dict[str, float]:
    """Which Services answer, with what chance (a canary's or the weights' share)."""
    if o.backend is None or o.status >= 300:
        return {}
    if o.canary is not None:  # ingress-nginx: the primary, and the canary with its chance
        p = float(o.canary["probability"])
        out = {o.backend.service: 1.0 - p} if o.backend.service != o.canary["service"] else {}
        out[str(o.canary["service"])] = out.get(str(o.canary["service"]), 0.0) + p
        return {k: round(v, 4) for k, v in out.items() if v > 0}
    if o.via is not None and "backends" in o.via:
        return {b["service"]: round(float(b["probability"]), 4) for b in o.via["backends"]
                if b["probability"] and not b["problem"]}
    return {o.backend.service: 1.0}


def _location(url: str | None) -> str | None:
    """An empty path is "/" (RFC 9110, http(s) URIs): ``https://a`` and ``https://a/`` agree."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _same(a: Outcome, b: Outcome) -> bool:
    return ((a.status, _location(a.location), split(a))
            == (b.status, _location(b.location), split(b)))


def _cause(prefix: str, a: Outcome, b: Outcome) -> str:
    """Which annotation or semantic makes the two answers differ."""
    r = a.reason
    if b.status == 0:
        return ("TLS: the HTTPS listener is not programmed (its Secret gives no certificate); "
                "ingress-nginx serves its fake certificate instead")
    if a.status == 413 or (b.status == 413 and a.status not in (400, 403)):
        return (f"{prefix}/proxy-body-size (ingress-nginx's client_max_body_size; NGINX Gateway "
                "Fabric's is 1m unless a ClientSettingsPolicy sets body.maxSize)")
    if a.status == 400 and "client certificate" in r:
        return f"{prefix}/auth-tls-verify-client"
    if a.status == 403 and "allowlist" in r:
        return f"{prefix}/whitelist-source-range"
    if a.status == 403:
        return f"{prefix}/auth-tls-secret"
    if a.status == 504 and "NetworkPolicy" in r:
        return ("NetworkPolicy: the ingress controller's pods may not reach the backend; the "
                "Gateway's data plane is not in the input")
    if a.status == b.status and a.location != b.location:
        if "ssl-redirect" in r:
            return f"{prefix}/ssl-redirect: the Location's trailing slash (preserve-trailing-slash)"
        return "redirect target"
    if "regex" in r or (a.via or {}).get("pathType") == "ImplementationSpecific":
        return "path matching: ImplementationSpecific/regex paths"
    if a.server.startswith("*."):
        return "wildcard host: one label in nginx, any number in the Gateway API"
    return "routing"


def admitting(analysis: Analysis, table: Table, o: Outcome) -> list[str]:
    """The NetworkPolicies that admit the controller's pods to the endpoints the Gateway's
    pods may not reach (on either side of the hop), sorted."""
    pods = controller_pods(analysis.cluster, table.controller)
    found: set[str] = set()
    for e in o.unreachable if pods else ():
        ip, _, port = e.rpartition(":")
        v = analysis.evaluator.verdict(pods[0], analysis.cluster.pod_by_ip(ip) or ip)
        for side in (v.egress, v.ingress):
            found |= {t.policy for t in side.selecting if t.allowed.allows("TCP", int(port))}
    return sorted(found)


def policy_cause(policy: str, gateway: str) -> str:
    return (f"NetworkPolicy: {policy} admits the ingress controller's pods but not Gateway "
            f"{gateway}'s")


def verify(analysis: Analysis, tables: tuple[Table, ...], config: Config
           ) -> tuple[int, list[Difference]]:
    """(requests routed, the differences). NetworkPolicy is judged on both fronts' hop to
    the backends: the controller's pods and the Gateway's data-plane pods."""
    total, diffs = 0, []
    for table in tables:
        gw = table.controller.key
        if gw not in config.gateways:
            continue
        reach = reachability(analysis, table.controller)  # once: the controller's pods
        gw_reach = gateway_reachability(analysis, gw)
        for probe in corpus(table):
            total += 1
            a = handle(table, probe.request, reach)
            b = router.handle(config, gw, probe.request, gw_reach)
            if _same(a, b):
                continue
            cause = _cause(table.controller.annotations_prefix, a, b)
            if b.status == 504 and b.unreachable and a.status != 504 and cause == "routing":
                policies = admitting(analysis, table, b)
                cause = policy_cause(", ".join(policies) or "the namespace's policy", gw)
            diffs.append(Difference(probe, a, b, cause))
    return total, diffs


def policy_actions(analysis: Analysis, tables: tuple[Table, ...], config: Config) -> list[str]:
    """The NetworkPolicy changes the migration needs, whatever else answers first: a policy
    that admits the controller's pods to a backend a migrated Gateway's routes send to, but
    not the Gateway's pods, needs a peer selecting those (NGINX Gateway Fabric's labels)."""
    from podnet.model.gateways import GATEWAY_NAME_LABEL

    out: set[str] = set()
    for table in tables:
        gw = table.controller.key
        reach = reachability(analysis, table.controller)
        if gw not in config.gateways or reach is None:
            continue
        gw_reach = gateway_reachability(analysis, gw)
        ns, _, name = gw.partition("/")
        lost = sorted({e for r in config.routes if any(p.gateway == gw and p.accepted
                                                      for p in r.parents)
                       for rule in r.backends for b in rule if b.upstream is not None
                       for e in b.upstream.endpoints if not gw_reach(e) and reach(e)})
        if not lost:
            continue
        blocked = Outcome(0, "", gw, unreachable=tuple(lost))
        for policy in admitting(analysis, table, blocked):
            out.add(f"{policy_cause(policy, gw)}: add to {policy} a peer selecting them "
                    f"(namespaceSelector kubernetes.io/metadata.name: {ns}, podSelector "
                    f"{GATEWAY_NAME_LABEL}: {name})")
    return sorted(out)
