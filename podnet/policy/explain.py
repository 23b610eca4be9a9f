"""The explanation of one flow on one port, as ``podnet explain -o json`` prints it and the
HTML report embeds it: the verdict, and per side the selecting policies and the rules that
admit the port."""

from __future__ import annotations

from podnet.model.objects import Pod
from podnet.policy.verdict import DirectionResult, Endpoint, Verdict


def label(ep: Endpoint) -> str:
    return ep.key if isinstance(ep, Pod) else ep


def side_data(d: DirectionResult, subject: Endpoint, number: int, proto: str) -> dict[str, object]:
    pols = []
    for t in d.selecting:
        allowing = [str(m.origin) for m in t.matches if m.allowed.allows(proto, number)]
        pols.append({"policy": t.policy, "allows": bool(allowing), "allowedBy": allowing,
                     "connections": str(t.allowed)})
    if not d.applies:
        summary = "outside the cluster: no policy applies"
    elif not d.isolated:
        summary = f"not isolated for {d.direction}: allowed"
    else:
        ok = d.allowed.allows(proto, number)
        summary = (f"isolated by {len(d.selecting)} polic{'y' if len(d.selecting) == 1 else 'ies'}"
                   f"; {'allowed' if ok else 'no policy allows this flow'}")
    return {"pod": label(subject), "isolated": d.isolated, "allowed": d.allowed.allows(proto, number),
            "summary": summary, "policies": pols}


def explain_data(v: Verdict, number: int, proto: str) -> dict[str, object]:
    return {"from": label(v.src), "to": label(v.dst), "port": f"{number}/{proto}",
            "allowed": v.allowed.allows(proto, number), "selfTraffic": v.self_traffic,
            "connections": str(v.allowed),
            "egress": side_data(v.egress, v.src, number, proto),
            "ingress": side_data(v.ingress, v.dst, number, proto)}
