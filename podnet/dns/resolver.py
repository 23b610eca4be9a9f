"""The queries a libc resolver sends for one name, in order, and the answer it settles on.

glibc (``resolv/res_query.c`` ``__res_context_search``): a trailing dot → the name alone. If
the name has at least ``ndots`` dots it is tried as is first, and a failure falls back to the
search list; each search domain is tried in order, continuing on NXDOMAIN and on NODATA;
a name not yet tried as is is tried last. getaddrinfo(AF_UNSPEC) asks A and AAAA for each
candidate and succeeds on the first candidate with any address.

musl (``src/network/lookup_name.c``): a trailing dot or at least ``ndots`` dots → the name as
is, and nothing else (no fallback to the search list); otherwise each search domain, then the
name as is; the walk stops at the first answer that is not NXDOMAIN, so a NODATA answer (the
name exists without that type) ends it with no address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from podnet.dns.records import Record
from podnet.dns.resolvconf import ResolvConf
from podnet.dns.server import Answer

Ask = Callable[[str, str], Answer]


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    type: str
    rcode: str
    answers: tuple[Record, ...]

    @property
    def outcome(self) -> str:
        if self.rcode != "NOERROR":
            return self.rcode
        return "NOERROR" if self.answers else "NODATA"


@dataclass(frozen=True, slots=True)
class Lookup:
    name: str
    libc: str
    queries: tuple[Query, ...]
    answer: tuple[Record, ...]
    notes: tuple[str, ...]


def _candidates(name: str, rc: ResolvConf, libc: str) -> list[str]:
    """Candidate names, in the order the libc tries them."""
    trailing = name.endswith(".")
    bare = name.rstrip(".")
    dots = bare.count(".")
    absolute = bare + "."
    searched = [f"{bare}.{d.strip('.')}." for d in rc.searches if d.strip(".")]
    if trailing or (libc == "musl" and dots >= rc.ndots):
        return [absolute]
    if dots >= rc.ndots:
        return [absolute, *searched]
    return [*searched, absolute]


def lookup(name: str, rc: ResolvConf, ask: Ask, libc: str = "glibc",
           types: Iterable[str] = ("A", "AAAA")) -> Lookup:
    candidates = _candidates(name, rc, libc)
    queries: list[Query] = []
    notes: list[str] = []
    bare = name.rstrip(".")
    dots = bare.count(".")
    if bare.lower() == "localhost":
        notes.append("kubelet's /etc/hosts in every pod maps localhost, and glibc and musl read "
                     "it before DNS: a real lookup sends none of these queries")
    if not name.endswith(".") and dots < rc.ndots and "." in bare:
        notes.append(f"{name!r} has {dots} dot{'s' if dots != 1 else ''}, fewer than ndots:{rc.ndots}: "
                     "it is not treated as absolute, so the search list is tried first "
                     f"(write {bare + '.'!r} to skip it)")
    for cand in candidates:
        step = [Query(cand, t, (a := ask(cand, t)).rcode, a.records) for t in types]
        queries += step
        addresses = tuple(r for q in step for r in q.answers)
        if addresses:
            return Lookup(name, libc, tuple(queries), addresses, tuple(notes))
        if libc == "musl" and any(q.rcode != "NXDOMAIN" for q in step):
            notes.append(f"musl stops at {cand} ({step[0].outcome}): it only continues on NXDOMAIN")
            break
    return Lookup(name, libc, tuple(queries), (), tuple(notes))
