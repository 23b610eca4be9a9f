"""Parse the nft script podnet's kube-proxy nftables renderer writes (``add table|chain|set|map|
rule|element`` lines) back into chains of rule tokens, sets and verdict maps."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from podnet.errors import PodnetError

_ADD = re.compile(r"^add (table|chain|set|map|rule|element) (ip|ip6|inet) (\S+)(?: (.*))?$")


@dataclass
class NftRuleset:
    chains: dict[str, list[list[str]]] = field(default_factory=dict)  # chain -> rules as tokens
    maps: dict[str, dict[tuple[str, ...], str]] = field(default_factory=dict)  # key -> verdict
    sets: dict[str, set[str]] = field(default_factory=dict)
    base: dict[str, str] = field(default_factory=dict)  # base chain -> "type hook priority"

    def rules(self, chain: str) -> list[list[str]]:
        return self.chains.get(chain, [])


def _strip_comment(tokens: list[str]) -> list[str]:
    if "comment" in tokens:
        i = tokens.index("comment")
        return tokens[:i] + tokens[i + 2:]
    return tokens


def _elements(body: str) -> list[tuple[tuple[str, ...], str]]:
    """``{ a . tcp . 80 comment "x" : goto c , ... }`` → [((a, tcp, 80), "goto c"), ...]."""
    inner = body.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise ValueError(f"element list without braces: {body!r}")
    out = []
    for item in inner[1:-1].split(" , "):
        key, _, verdict = item.partition(" : ")
        words = _strip_comment(shlex.split(key))
        out.append((tuple(w for w in words if w != "."), verdict.strip()))
    return out


def parse_nft(text: str) -> NftRuleset:
    rs = NftRuleset()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _ADD.match(line)
        if m is None:
            raise PodnetError(f"line {n}: not an nft 'add' command: {line!r}")
        kind, _family, rest = m.group(1), m.group(2), (m.group(4) or "")
        name, _, tail = rest.partition(" ")
        try:
            if kind == "chain":
                rs.chains.setdefault(name, [])
                if "hook" in tail:
                    rs.base[name] = tail.strip("{} ;")
            elif kind == "set":
                rs.sets.setdefault(name, set())
            elif kind == "map":
                rs.maps.setdefault(name, {})
            elif kind == "rule":
                rs.chains.setdefault(name, []).append(_strip_comment(shlex.split(tail)))
            elif kind == "element":
                for key, verdict in _elements(tail):
                    if name in rs.maps:
                        rs.maps[name][key] = verdict
                    else:
                        rs.sets.setdefault(name, set()).add(key[0])
        except ValueError as e:
            raise PodnetError(f"line {n}: cannot parse {line!r}: {e}") from None
    return rs
