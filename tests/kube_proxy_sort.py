"""kube-proxy's canonical orderings for comparing whole rulesets, reimplemented from their
descriptions in kubernetes/kubernetes: ``sortIPTablesRules`` (pkg/proxy/iptables/
proxier_test.go) and ``sortNFTablesTransaction`` (pkg/proxy/nftables/helpers_test.go).

kube-proxy iterates Go maps, so the order of Services in its output varies; its tests sort
both sides so that only the order that matters (the rules of one chain, the rules of one
Service) is compared.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r'-m comment --comment (?:"([^"]*)"|(\S+))')


def _comment(rule: str) -> str | None:
    m = _COMMENT.search(rule)
    return None if m is None else (m.group(1) if m.group(1) is not None else m.group(2))


def _service_of(rule: str, chain: str) -> str:
    """The Service a rule belongs to: its comment up to the first space or colon."""
    comment = _comment(rule)
    if comment is None:
        # sortIPTablesRules orders these chains with a comparator that treats a rule without
        # a comment as equal to every other: only meaningful when every rule has one.
        raise ValueError(f"rule in {chain} has no comment: {rule}")
    return re.split(r"[ :]", comment, maxsplit=1)[0]


def _chain_key(name: str) -> tuple[int, str]:
    if name == "KUBE-NODEPORTS":
        return (0, "")
    if name == "KUBE-SERVICES":
        return (1, "")
    return (2 if name.startswith("KUBE-") else 3, name)


def sort_iptables_rules(text: str) -> str:
    """Tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* by name, then the
    rest by name; each chain's rules after its declarations in chain order; KUBE-NODEPORTS
    and KUBE-SERVICES rules stably by Service, the nat KUBE-SERVICES "must be the last rule"
    rule kept last."""
    tables: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    current = ""
    for line in text.strip("\n").split("\n"):
        if line.startswith("*"):
            current = line[1:]
            tables[current] = ([], {})
        elif line.startswith(":"):
            name = line[1:].split()[0]
            tables[current][0].append(name)
            tables[current][1].setdefault(name, [])
        elif line.startswith("-A "):
            tables[current][1].setdefault(line.split()[1], []).append(line)
        elif line != "COMMIT":
            raise ValueError(f"unexpected line: {line}")
    out: list[str] = []
    for table in sorted(tables):
        declared, rules = tables[table]
        order = sorted(declared, key=_chain_key)
        if set(rules) - set(declared):
            raise ValueError(f"rules for undeclared chains in {table}: {set(rules) - set(declared)}")
        for chain in ("KUBE-NODEPORTS", "KUBE-SERVICES"):
            if chain not in rules:
                continue
            last = [r for r in rules[chain] if table == "nat" and chain == "KUBE-SERVICES"
                    and "must be the last rule" in (_comment(r) or "")]
            rest = [r for r in rules[chain] if r not in last]
            rules[chain] = sorted(rest, key=lambda r, c=chain: _service_of(r, c)) + last
        out.append(f"*{table}")
        out += [f":{c} - [0:0]" for c in order]
        for c in order:
            out += rules[c]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


# sortNFTablesTransaction's rank of object types: higher sorts first; unknown types rank 0.
_NFT_RANK = {"table": 10, "chain": 9, "rule": 8, "set": 7, "map": 6, "element": 5}


def sort_nftables_transaction(text: str) -> str:
    """Blank lines and ``#`` lines dropped; the rest stably by object type (table, chain,
    rule, set, map, element, anything else), then by object name (the fifth word, after
    ``add TYPE ip kube-proxy``); rules of one chain keep their order, other objects of one
    name are ordered by their whole line. Joined without a final newline, as upstream."""
    lines = [ln for ln in text.split("\n") if ln and not ln.startswith("#")]
    for ln in lines:
        # upstream's comparator treats a shorter line as equal to every other, which is not
        # an ordering; none of kube-proxy's lines is that short, so refuse rather than guess
        if len(ln.split(" ")) < 5:
            raise ValueError(f"nft line with fewer than five words: {ln!r}")

    def key(ln: str) -> tuple[int, str, str]:
        words = ln.split(" ")
        return (-_NFT_RANK.get(words[1], 0), words[4], "" if words[1] == "rule" else ln)

    return "\n".join(sorted(lines, key=key))
