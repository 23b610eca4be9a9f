"""Consistency of a parsed ruleset: every jump lands on a chain of its table, and chain names
fit the kernel's limit (XT_EXTENSION_MAXNAMELEN 29 with the NUL, so 28 characters)."""

from __future__ import annotations

from podnet.netfilter.ipt_parse import Ruleset

MAX_CHAIN = 28
TERMINALS = {"ACCEPT", "DROP", "REJECT", "RETURN", "DNAT", "SNAT", "MASQUERADE", "MARK", "LOG", ""}
BUILTIN = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}


def problems(rs: Ruleset) -> list[str]:
    out = []
    for table, chains in rs.tables.items():
        for name, rules in chains.items():
            if len(name) > MAX_CHAIN:
                out.append(f"{table}/{name}: chain name longer than {MAX_CHAIN} characters")
            for r in rules:
                if r.target not in TERMINALS and r.target not in chains and r.target not in BUILTIN:
                    out.append(f"{table}/{name}: jump to undefined chain {r.target} ({r.text})")
    return out
