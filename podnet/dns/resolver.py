"""The queries a libc resolver sends for one name, in order, and the answer it settles on.

Both read the pod's resolv.conf their own way first (``podnet.dns.libcconf``).

glibc (``resolv/res_query.c`` ``__res_context_search``): a trailing dot → the name alone. If
the name has at least ``ndots`` dots it is tried as is first, and a failure falls back to the
search list. Each search domain is tried in order, continuing on NXDOMAIN, NODATA and a
SERVFAIL to the A query; any other error (REFUSED, a name no query can carry) ends the list. A root entry
(``.``) in the list queries the name as is at that point. The name is tried as is last unless
it was already tried, the root was on the list, or ``no-tld-query`` is set and the name has
no dot (and a search list was walked). getaddrinfo(AF_UNSPEC) asks A and AAAA for each
candidate (A alone under ``no-aaaa``) and succeeds on the first with any record
(``__res_context_query``).

musl (``src/network/lookup_name.c`` ``name_from_dns_search``): a trailing dot or at least
``ndots`` dots → the name as is, and nothing else (no fallback to the search list); otherwise
each search domain, then the name as is. ``name_from_dns`` looks at the rcodes in query order
(A, then AAAA): NXDOMAIN moves on, SERVFAIL or another error ends the walk, and so does a
NOERROR without addresses (NODATA). A domain whose name would not fit 255 characters, or that
makes an invalid name (the root ``.`` gives ``name..``), is skipped without a query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from podnet.dns.libcconf import LibcConf, read
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


class _Walk:
    """The queries sent so far, and the verdict on each name tried."""

    def __init__(self, ask: Ask, types: tuple[str, ...], libc: str) -> None:
        self.ask, self.types, self.libc = ask, types, libc
        self.queries: list[Query] = []
        self.notes: list[str] = []
        self.answer: tuple[Record, ...] = ()

    def send(self, cand: str) -> str:
        """Ask for ``cand`` (absolute) with every type; the verdict: found | NXDOMAIN | NODATA |
        SERVFAIL | FAIL (any other error) | UNSENT (no query can carry the name)."""
        if not _encodable(cand):
            self.notes.append(f"{cand!r} is not a valid DNS name (an empty label, a label over 63 "
                              f"or a name over 253 characters): {self.libc} sends no query for it")
            return "UNSENT"
        step = [Query(cand, t, (a := self.ask(cand, t)).rcode, a.records) for t in self.types]
        self.queries += step
        verdict = _musl_verdict(step) if self.libc == "musl" else _glibc_verdict(step)
        if verdict == "found":
            self.answer = tuple(r for q in step for r in q.answers)
        return verdict


def _glibc_verdict(step: list[Query]) -> str:
    """resolv/res_query.c ``__res_context_query``: success if either answer has records; else
    the first answer's rcode unless it is NOERROR, then the second's."""
    if any(q.rcode == "NOERROR" and q.answers for q in step):
        return "found"
    rcode = next((q.rcode for q in step if q.rcode != "NOERROR"), "NOERROR")
    if rcode == "SERVFAIL" and step[0].rcode != "SERVFAIL":
        # TRY_AGAIN, but __res_context_search's "try the next domain" tests the header of the
        # first answer (the A one), which says NOERROR: the list ends here
        return "TRY_AGAIN"
    return {"NXDOMAIN": "NXDOMAIN", "SERVFAIL": "SERVFAIL", "NOERROR": "NODATA"}.get(rcode, "FAIL")


def _musl_verdict(step: list[Query]) -> str:
    """src/network/lookup_name.c ``name_from_dns``: the rcodes in query order (A, then AAAA):
    SERVFAIL is EAI_AGAIN, NXDOMAIN means "try the next name", any other error is EAI_FAIL;
    only then the addresses, and none is EAI_NODATA."""
    for q in step:
        if q.rcode in ("SERVFAIL", "NXDOMAIN"):
            return q.rcode
        if q.rcode != "NOERROR":
            return "FAIL"
    return "found" if any(r.type in ("A", "AAAA") for q in step for r in q.answers) else "NODATA"


def _encodable(cand: str) -> bool:
    """Whether a query can carry the name: glibc's res_mkquery and musl's __res_mkquery both
    refuse an empty label, a label over 63 octets and a name over 253 characters."""
    name = cand[:-1] if cand.endswith(".") else cand
    labels = name.split(".")
    return 0 < len(name) <= 253 and all(0 < len(label) <= 63 for label in labels)


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _glibc(name: str, conf: LibcConf, walk: _Walk) -> None:
    """resolv/res_query.c ``__res_context_search`` (RES_DEFNAMES and RES_DNSRCH on, the default)."""
    dots, trailing = name.count("."), name.endswith(".")
    tried_as_is = False
    if dots >= conf.ndots or trailing:
        if walk.send(_absolute(name)) == "found" or trailing:
            return
        tried_as_is = True
    searched = root_on_list = False
    for domain in conf.searches:
        searched = True
        domain = domain[1:] if domain.startswith(".") else domain
        root_on_list |= domain == ""
        cand = _absolute(f"{name}.{domain}") if domain else _absolute(name)
        verdict = walk.send(cand)
        if verdict == "found":
            return
        if verdict not in ("NXDOMAIN", "NODATA", "SERVFAIL"):  # UNSENT: res_mkquery's NO_RECOVERY
            walk.notes.append(f"glibc stops the search list at {cand} ({verdict}): it continues "
                              "only on NXDOMAIN, NODATA and SERVFAIL, then tries the name as is")
            break
    if root_on_list:
        walk.notes.append("the search list holds the root domain: glibc queries the name as is "
                          "at that point of the list, and not again at the end")
    if (dots or not searched or not conf.no_tld_query) and not (tried_as_is or root_on_list):
        walk.send(_absolute(name))
    elif not dots and searched and conf.no_tld_query:
        walk.notes.append(f"options no-tld-query: glibc never sends the single-label name "
                          f"{name!r} as is, only with the search list")


def _musl(name: str, conf: LibcConf, walk: _Walk) -> None:
    """src/network/lookup_name.c ``name_from_dns_search``."""
    bare = name[:-1] if name.endswith(".") else name
    if not bare or bare.endswith("."):
        walk.notes.append(f"musl rejects {name!r} (EAI_NONAME) before sending any query")
        return
    dots = name.count(".")
    searches = () if dots >= conf.ndots or name.endswith(".") else conf.searches
    for domain in searches:
        if len(domain) >= 255 - len(bare):
            walk.notes.append(f"musl skips the search domain {domain}: with {bare!r} it does not "
                              "fit its 256-byte name buffer")
            continue
        # __res_mkquery strips one final dot, so "example.com." works and the root "." gives
        # "name..", which it refuses: name_from_dns returns 0 and the walk goes on
        cand = f"{bare}.{domain}"
        verdict = walk.send(cand if cand.endswith(".") else cand + ".")
        if verdict in ("NXDOMAIN", "UNSENT"):
            continue
        if verdict != "found":
            walk.notes.append(f"musl stops at {walk.queries[-1].name} ({verdict}): it only "
                              "continues on NXDOMAIN")
        return
    walk.send(bare + ".")


def lookup(name: str, rc: ResolvConf, ask: Ask, libc: str = "glibc",
           types: Iterable[str] = ("A", "AAAA")) -> Lookup:
    conf = read(rc.text(), libc)
    qtypes = tuple(types)
    notes = list(conf.notes)
    if libc == "glibc" and conf.no_aaaa and "AAAA" in qtypes:
        # resolv/nss_dns/dns-host.c: gethostbyname4 asks T_A alone under RES_NOAAAA
        qtypes = tuple(t for t in qtypes if t != "AAAA")
        notes.append("options no-aaaa: glibc sends no AAAA query")
    bare = name.rstrip(".")
    dots = name.count(".")
    if bare.lower() == "localhost":
        notes.append("kubelet's /etc/hosts in every pod maps localhost, and glibc and musl read "
                     "it before DNS: a real lookup sends none of these queries")
    if not name.endswith(".") and dots < conf.ndots and "." in bare:
        notes.append(f"{name!r} has {dots} dot{'s' if dots != 1 else ''}, fewer than ndots:{conf.ndots}: "
                     "it is not treated as absolute, so the search list is tried first "
                     f"(write {bare + '.'!r} to skip it)")
    walk = _Walk(ask, qtypes, libc)
    (_musl if libc == "musl" else _glibc)(name, conf, walk)
    return Lookup(name, libc, tuple(walk.queries), walk.answer, tuple(notes + walk.notes))


def external_lookup(rc: ResolvConf, name: str) -> tuple[int, int, int]:
    """(names tried, queries sent, queries answered NXDOMAIN) for one lookup by glibc of an
    external ``name``: only its absolute form exists, as for any name outside the cluster."""
    absolute = name.rstrip(".") + "."

    def ask(qname: str, qtype: str) -> Answer:
        if qname == absolute:
            records = (Record(qname, "A", "192.0.2.1"),) if qtype == "A" else ()
            return Answer("NOERROR", records, "upstream")
        return Answer("NXDOMAIN", (), "cluster")

    result = lookup(name, rc, ask)
    names = len({q.name for q in result.queries})
    wasted = sum(1 for q in result.queries if q.rcode == "NXDOMAIN")
    return names, len(result.queries), wasted
