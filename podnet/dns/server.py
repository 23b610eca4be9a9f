"""The answer the cluster DNS gives one query: CoreDNS ``kubernetes`` plugin behaviour for the
cluster zone, forwarding everything else upstream.

In the zone: NXDOMAIN for a name that does not exist, NOERROR with no records (NODATA) for a
name that exists with other types, including the empty non-terminals ``svc.<zone>`` and
``<ns>.svc.<zone>``. Pod names ``a-b-c-d.<ns>.pod.<zone>`` are answered for any well-formed
address (``pods insecure``). Outside the zone the upstream (the lab's ``external``
namespace) knows every name unless told otherwise: it answers A with a stable address from
the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, and AAAA with NODATA.

Except the special-use names, answered as a recursive resolver must (RFC 6761 section 6):
``localhost`` and its subdomains are the loopback addresses (6.3: answer them without asking
anyone); ``.invalid`` (6.4) and ``.test`` (6.2) are NXDOMAIN; the ``.example`` TLD is never
delegated in the root zone, so it is NXDOMAIN too (6.5: resolved normally, which ends there;
RFC 2606 section 2), while ``example.com``/``.net``/``.org`` resolve like any other name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from podnet.dns.records import Record, Zone

_DASHED = re.compile(r"^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$")
DOC_RANGES = ("192.0.2", "198.51.100", "203.0.113")


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: str  # NOERROR | NXDOMAIN
    records: tuple[Record, ...]
    source: str  # "cluster" | "upstream"


def external_address(name: str) -> str:
    h = int(hashlib.sha256(name.lower().encode()).hexdigest(), 16)
    return f"{DOC_RANGES[h % 3]}.{1 + (h >> 8) % 254}"


LOOPBACK = {"A": "127.0.0.1", "AAAA": "::1"}
NXDOMAIN_TLDS = ("invalid", "test", "example")


def special_use(name: str, qtype: str) -> Answer | None:
    """The upstream's answer for an RFC 6761 special-use name (absolute, lower case), or None
    for an ordinary name."""
    tld = name.rstrip(".").rpartition(".")[2]
    if tld == "localhost":
        rec = (Record(name, qtype, LOOPBACK[qtype]),) if qtype in LOOPBACK else ()
        return Answer("NOERROR", rec, "upstream")
    if tld in NXDOMAIN_TLDS:
        return Answer("NXDOMAIN", (), "upstream")
    return None


def _in_zone(name: str, domain: str) -> bool:
    return name == f"{domain}." or name.endswith(f".{domain}.")


def answer(zone: Zone, qname: str, qtype: str, missing: Iterable[str] = ()) -> Answer:
    """Answer ``qname`` (absolute, trailing dot) for ``qtype`` (A, AAAA, SRV, PTR, TXT, CNAME)."""
    name = qname.lower()
    if not name.endswith("."):
        name += "."
    if _in_zone(name, zone.domain) or name.endswith(".in-addr.arpa."):
        recs = zone.records.get(name)
        if recs is not None:
            hit = tuple(r for r in recs if r.type == qtype or (r.type == "CNAME" and qtype != "CNAME"))
            for r in hit:
                if r.type == "CNAME" and qtype != "CNAME":  # CoreDNS resolves the target too
                    hit += answer(zone, r.value, qtype, missing).records
            return Answer("NOERROR", hit, "cluster")
        labels = name[: -len(zone.domain) - 2].split(".") if _in_zone(name, zone.domain) else []
        if len(labels) == 3 and labels[2] == "pod" and labels[1] in zone.namespaces:
            m = _DASHED.match(labels[0])
            if m and all(int(x) < 256 for x in m.groups()):
                ip = ".".join(m.groups())
                return Answer("NOERROR", (Record(name, "A", ip),) if qtype == "A" else (), "cluster")
        # Empty non-terminals exist: a parent of some record answers NODATA, not NXDOMAIN.
        if any(n.endswith("." + name) for n in zone.records) or name in (
                f"{zone.domain}.", f"svc.{zone.domain}.", f"pod.{zone.domain}."):
            return Answer("NOERROR", (), "cluster")
        return Answer("NXDOMAIN", (), "cluster")
    special = special_use(name, qtype)
    if special is not None:
        return special
    if name.rstrip(".") in {m.rstrip(".").lower() for m in missing}:
        return Answer("NXDOMAIN", (), "upstream")
    if qtype == "A":
        return Answer("NOERROR", (Record(name, "A", external_address(name)),), "upstream")
    return Answer("NOERROR", (), "upstream")
