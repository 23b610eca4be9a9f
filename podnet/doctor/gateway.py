"""Gateway API findings: what a controller would refuse (a route no listener takes, a backend
it cannot resolve, a listener it cannot program), with what happens to the requests."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check
from podnet.gateway.attach import Config, build


def _config(ctx: Context) -> Config:
    return ctx.memo("gateway-config", lambda: build(ctx.cluster))


@check("gateway-route-refused",
       summary="An HTTPRoute no listener of its Gateway accepts: it serves nothing.",
       example="HTTPRoute web/shop: Gateway infra/public refuses it (NotAllowedByListeners: "
               "no listener admits routes from namespace web)")
def route_refused(ctx: Context) -> Iterator[Finding]:
    for r in _config(ctx).routes:
        for i, p in enumerate(r.parents):
            if p.accepted:
                continue
            cond = next(c for c in p.conditions if c.type == "Accepted")
            yield Finding("gateway-route-refused", "error", f"HTTPRoute {r.route.key}",
                          r.route.source, f"spec.parentRefs[{i}]",
                          f"Gateway {p.gateway} refuses HTTPRoute {r.route.key} ({cond.reason}: "
                          f"{cond.message}); requests for its hostnames get 404 there",
                          {"gateway": p.gateway, "reason": cond.reason},
                          _route_fix(cond.reason))


def _route_fix(reason: str) -> str:
    return {
        "NotAllowedByListeners": "let the listener admit the route's namespace "
                                 "(allowedRoutes.namespaces.from: All, or a Selector that "
                                 "matches it), or move the route",
        "NoMatchingListenerHostname": "give the route a hostname the listener accepts, or "
                                      "widen the listener's hostname",
        "NoMatchingParent": "point parentRefs at an existing Gateway and listener "
                            "(sectionName/port)",
        "UnsupportedValue": "fix the regular expression",
    }.get(reason, "")


@check("gateway-backend-unresolved",
       summary="An HTTPRoute backend the controller cannot resolve: its share of requests gets "
               "500.",
       example="HTTPRoute web/shop rule 0: Service other/api in another namespace without a "
               "ReferenceGrant (RefNotPermitted): requests get 500")
def backend_unresolved(ctx: Context) -> Iterator[Finding]:
    for r in _config(ctx).routes:
        if not any(p.accepted for p in r.parents):
            continue
        for i, rule in enumerate(r.backends):
            for j, b in enumerate(rule):
                if not b.problem:
                    continue
                reason, _, why = b.problem.partition(": ")
                fix = ("add a ReferenceGrant in the backend's namespace from HTTPRoutes of "
                       f"{r.route.namespace}" if reason == "RefNotPermitted" else
                       "reference an existing Service and port")
                yield Finding("gateway-backend-unresolved", "error", f"HTTPRoute {r.route.key}",
                              r.route.source, f"spec.rules[{i}].backendRefs[{j}]",
                              f"rule {i} of HTTPRoute {r.route.key}: {why} ({reason}); the "
                              f"requests sent to it get 500",
                              {"reason": reason, "weight": b.ref.weight}, fix)


@check("gateway-listener-not-programmed",
       summary="A Gateway listener the controller cannot program (conflict, certificate): "
               "nothing listens.",
       example="Gateway infra/public listener https: Secret infra/tls is not in the input "
               "(InvalidCertificateRef)")
def listener_not_programmed(ctx: Context) -> Iterator[Finding]:
    for key, state in sorted(_config(ctx).gateways.items()):
        for i, s in enumerate(state.listeners):
            if s.programmed:
                continue
            bad = [c for c in s.conditions
                   if (c.type == "Conflicted") == c.status and c.type != "Programmed"]
            why = "; ".join(f"{c.reason}: {c.message}" for c in bad)
            yield Finding("gateway-listener-not-programmed", "error", f"Gateway {key}",
                          state.gateway.source, f"spec.listeners[{i}]",
                          f"listener {s.listener.name} (port {s.listener.port}) of Gateway {key} "
                          f"is not programmed ({why}); its requests find no listener",
                          {"listener": s.listener.name, "reasons": [c.reason for c in bad]},
                          "give the listener a unique port/hostname and a certificate it can "
                          "read")
