"""Parse the nft scripts podnet writes back into chains of rule tokens, sets and verdict maps:
kube-proxy's command form (``add table|chain|set|map|rule|element`` lines) and the block form
of the NetworkPolicy ruleset (``table inet t { chain c { ... } }``)."""

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


_BLOCK_OPEN = re.compile(r"^(table (ip|ip6|inet) |chain )(\S+) \{$")


def _parse_blocks(text: str) -> NftRuleset:
    rs = NftRuleset()
    chain = ""
    depth = 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _BLOCK_OPEN.match(line)
        if m is not None:
            depth += 1
            if m.group(1) == "chain ":
                if depth != 2:
                    raise PodnetError(f"line {n}: chain outside a table: {line!r}")
                chain = m.group(3)
                rs.chains.setdefault(chain, [])
            continue
        if line == "}":
            depth -= 1
            chain = "" if depth < 2 else chain
            if depth < 0:
                raise PodnetError(f"line {n}: unbalanced '}}'")
            continue
        if depth == 1 and line.startswith("set ") and line.endswith("}"):
            rs.sets.setdefault(line.split()[1], set())  # a declaration: no elements written
            continue
        if not chain:
            raise PodnetError(f"line {n}: a rule outside a chain: {line!r}")
        if line.startswith("type ") and " hook " in line:
            rs.base[chain] = line.rstrip(";")
            continue
        try:
            rs.chains[chain].append(_strip_comment(shlex.split(line)))
        except ValueError as e:
            raise PodnetError(f"line {n}: cannot parse {line!r}: {e}") from None
    if depth != 0:
        raise PodnetError("unbalanced braces: a table or chain is not closed")
    return rs


def parse_nft(text: str) -> NftRuleset:
    first = next((ln.strip() for ln in text.splitlines()
                  if ln.strip() and not ln.strip().startswith("#")), "")
    if first.startswith("table ") and first.endswith("{"):
        return _parse_blocks(text)
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
