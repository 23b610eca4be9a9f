"""Reading the policy ruleset's drop records (``podnet.lab.drops``) from ``nft -j`` output, in
the two shapes nft 1.0 prints: plain elements, and elements with expiry (a set with timeouts)."""

from __future__ import annotations

from podnet.lab.drops import parse_elements


def test_elements_with_and_without_expiry_and_numeric_protocols():
    data = {"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"set": {"family": "inet", "name": "dropped", "table": "podnet-policy", "elem": [
            {"concat": ["10.244.0.2", "10.244.1.3", "tcp", 8080]},
            {"elem": {"val": {"concat": ["10.244.0.2", "10.244.1.4", "udp", 53]},
                      "timeout": 120, "expires": 118}},
            {"concat": ["10.244.0.5", "10.244.1.4", 132, 9000]},
            {"concat": ["10.244.0.5", "10.244.1.4"]},  # not a flow key: ignored
        ]}}]}
    assert parse_elements(data) == {("10.244.0.2", "10.244.1.3", "tcp", 8080),
                                     ("10.244.0.2", "10.244.1.4", "udp", 53),
                                     ("10.244.0.5", "10.244.1.4", "sctp", 9000)}


def test_an_empty_or_foreign_answer_holds_no_drop():
    assert parse_elements({"nftables": [{"set": {"name": "dropped"}}]}) == set()
    assert parse_elements([]) == set()
