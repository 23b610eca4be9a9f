"""Gateways, their listeners and routes as plain data (``podnet gateway -o json`` and its
tables): the status a controller would write, plus what each listener serves."""

from __future__ import annotations

from typing import Any

from podnet.gateway.attach import Condition, Config, GatewayState, RouteState


def _conditions(conds: tuple[Condition, ...]) -> list[dict[str, Any]]:
    return [{"type": c.type, "status": "True" if c.status else "False", "reason": c.reason,
             "message": c.message} for c in conds]


def _gateway(state: GatewayState) -> dict[str, Any]:
    gw = state.gateway
    return {"name": gw.key, "gatewayClassName": gw.class_name, "notes": list(state.notes),
            "listeners": [{"name": s.listener.name, "port": s.listener.port,
                           "protocol": s.listener.protocol,
                           "hostname": s.listener.hostname or None,
                           "certificate": s.certificate or None,
                           "allowedRoutes": s.listener.namespaces_from,
                           "programmed": s.programmed, "attachedRoutes": len(s.routes),
                           "routes": list(s.routes), "conditions": _conditions(s.conditions)}
                          for s in state.listeners]}


def _route(state: RouteState) -> dict[str, Any]:
    r = state.route
    rules = []
    for rule, backends in zip(r.rules, state.backends, strict=True):
        rules.append({"name": rule.name or None,
                      "matches": [{"path": {"type": m.path_type, "value": m.path},
                                   "method": m.method or None,
                                   "headers": [h.name for h in m.headers],
                                   "queryParams": [q.name for q in m.query]}
                                  for m in rule.matches],
                      "filters": [f.type for f in rule.filters],
                      "backendRefs": [{"service": f"{b.ref.namespace}/{b.ref.name}",
                                       "port": b.ref.port, "weight": b.ref.weight,
                                       "endpoints": list(b.upstream.endpoints)
                                       if b.upstream else [],
                                       "problem": b.problem or None} for b in backends]})
    return {"name": r.key, "hostnames": list(r.hostnames),
            "parents": [{"gateway": p.gateway, "sectionName": p.ref.section or None,
                         "port": p.ref.port, "accepted": p.accepted,
                         "listeners": list(p.listeners), "conditions": _conditions(p.conditions)}
                        for p in state.parents],
            "rules": rules}


def config(cfg: Config) -> dict[str, Any]:
    return {"gateways": [_gateway(s) for _, s in sorted(cfg.gateways.items())],
            "routes": [_route(r) for r in cfg.routes]}
