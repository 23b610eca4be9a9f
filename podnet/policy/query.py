"""Parse the command line's port lists and pod selections into model terms."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from podnet.errors import UsageError
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.model.selectors import OPERATORS, LabelSelector, Requirement, selector
from podnet.model.vocabulary import PROTOCOLS


def parse_port(text: str) -> tuple[int, str]:
    """``80/TCP``, ``53/udp`` or ``80`` (TCP)."""
    num, _, proto = text.strip().partition("/")
    proto = (proto or "TCP").upper()
    if not num.isdigit() or not 1 <= int(num) <= 65535 or proto not in PROTOCOLS:
        raise UsageError(f"port {text!r}: write NUMBER/PROTOCOL, e.g. 80/TCP or 53/UDP")
    return int(num), proto


def parse_ports(text: str | None, cluster: Cluster) -> list[tuple[int, str]]:
    if text:
        return sorted({parse_port(t) for t in text.split(",") if t.strip()},
                      key=lambda p: (p[1] != "TCP", p[1], p[0]))
    declared = {(c.port, c.protocol) for p in cluster.pods for c in p.ports}
    return sorted(declared, key=lambda p: (p[1] != "TCP", p[1], p[0]))


def _split_terms(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str) -> LabelSelector:
    """kubectl's ``-l`` syntax: ``k=v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``, ``k``, ``!k``."""
    labels: dict[str, str] = {}
    reqs: list[Requirement] = []
    for term in _split_terms(text):
        low = term.replace("  ", " ")
        for word, op in ((" notin ", "NotIn"), (" in ", "In")):
            if word in low:
                key, _, rest = low.partition(word)
                values = tuple(v.strip() for v in rest.strip().strip("()").split(",") if v.strip())
                reqs.append(Requirement(key.strip(), op, values))
                break
        else:
            if "!=" in term:
                k, _, v = term.partition("!=")
                reqs.append(Requirement(k.strip(), "NotIn", (v.strip(),)))
            elif "=" in term:
                k, _, v = term.replace("==", "=").partition("=")
                labels[k.strip()] = v.strip()
            elif term.startswith("!"):
                reqs.append(Requirement(term[1:].strip(), "DoesNotExist"))
            else:
                reqs.append(Requirement(term, "Exists"))
    for r in reqs:
        if r.operator not in OPERATORS or not r.key:
            raise UsageError(f"selector {text!r}: cannot read {r.key!r}")
    return selector(labels, tuple(reqs))


def select_pods(cluster: Cluster, text: str | None) -> list[int]:
    """Indices of pods chosen by ``NS/POD``, ``NS/`` (a namespace), ``NS/LABELS`` or ``LABELS``."""
    pods: Sequence[Pod] = cluster.pods
    if not text:
        return list(range(len(pods)))
    ns, slash, rest = text.partition("/")
    if not slash:
        ns, rest = "", text
    if ns and rest and not any(c in rest for c in "=!() ") and cluster.pod(f"{ns}/{rest}"):
        return [i for i, p in enumerate(pods) if p.namespace == ns and p.name == rest]
    sel = parse_label_selector(rest) if rest else None
    chosen = [i for i, p in enumerate(pods)
              if (not ns or ns == "*" or p.namespace == ns) and (sel is None or sel.matches(p.labels))]
    if not chosen:
        raise UsageError(f"{text!r} selects no pod")
    return chosen


def find_endpoint(cluster: Cluster, text: str) -> Pod | str:
    """A pod by ``NS/NAME`` or by IP; any other IP is an endpoint outside the cluster."""
    pod = cluster.pod(text)
    if pod is not None:
        return pod
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"{text!r} is neither a pod (NS/NAME) in the input nor an IP") from None
    return cluster.pod_by_ip(text) or text
