"""Trace a packet through any proxy mode's rendered ruleset (the text ``render_for_node`` gives)."""

from __future__ import annotations

from podnet.netfilter.ipt_parse import parse_restore
from podnet.netfilter.ipvs_trace import parse_ipvs, trace_ipvs
from podnet.netfilter.nft_parse import parse_nft
from podnet.netfilter.nft_trace import trace_nft
from podnet.netfilter.trace import Outcome, trace_packet


def trace_rules(mode: str, text: str, src: str, dst: str, port: int, proto: str,
                node_ips: tuple[str, ...] = ()) -> Outcome:
    if mode == "nftables":
        return trace_nft(parse_nft(text), src, dst, port, proto, node_ips)
    if mode == "ipvs":
        return trace_ipvs(parse_ipvs(text), src, dst, port, proto, node_ips)
    return trace_packet(parse_restore(text), src, dst, port, proto, node_ips)
