"""Consistency of a parsed ruleset: every jump lands on a defined chain, every set or map a
rule names exists, and names fit the kernel's limits (iptables: XT_EXTENSION_MAXNAMELEN 29
with the NUL, so 28 characters; nftables: NFT_NAME_MAXLEN 256 with the NUL)."""

from __future__ import annotations

from podnet.netfilter.ipt_parse import Ruleset
from podnet.netfilter.nft_parse import NftRuleset

MAX_CHAIN = 28
MAX_NFT_NAME = 255
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


def nft_problems(rs: NftRuleset) -> list[str]:
    out = [f"{name}: name longer than {MAX_NFT_NAME} characters"
           for name in [*rs.chains, *rs.sets, *rs.maps] if len(name) > MAX_NFT_NAME]
    verdicts = [(chain, rule) for chain, rules in rs.chains.items() for rule in rules]
    verdicts += [(f"map {m}", v.split()) for m, elems in rs.maps.items() for v in elems.values()]
    for where, tokens in verdicts:
        for verb, target in zip(tokens, tokens[1:], strict=False):
            target = target.strip("{},;")
            if verb in ("jump", "goto") and target not in rs.chains:
                out.append(f"{where}: {verb} to undefined chain {target}")
        out += [f"{where}: no set or map named {t[1:]}" for t in tokens
                if t.startswith("@") and t[1:] not in rs.sets and t[1:] not in rs.maps]
    return out
