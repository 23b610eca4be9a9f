"""Trace a packet through any proxy mode's rendered ruleset (the text ``render_for_node`` gives)."""

from __future__ import annotations

import functools
from typing import Any

from podnet.netfilter.ipt_parse import parse_restore
from podnet.netfilter.ipvs_trace import parse_ipvs, trace_ipvs
from podnet.netfilter.nft_parse import parse_nft
from podnet.netfilter.nft_trace import trace_nft
from podnet.netfilter.trace import Outcome, trace_packet


@functools.lru_cache(maxsize=32)
def _parsed(mode: str, text: str) -> Any:
    """Parsed once per ruleset text: a probe run walks thousands of packets through a handful
    of node rulesets (the walkers only read what the parsers build)."""
    return {"nftables": parse_nft, "ipvs": parse_ipvs}.get(mode, parse_restore)(text)


def trace_rules(mode: str, text: str, src: str, dst: str, port: int, proto: str,
                node_ips: tuple[str, ...] = ()) -> Outcome:
    rules = _parsed(mode, text)
    if mode == "nftables":
        return trace_nft(rules, src, dst, port, proto, node_ips)
    if mode == "ipvs":
        return trace_ipvs(rules, src, dst, port, proto, node_ips)
    return trace_packet(rules, src, dst, port, proto, node_ips)
