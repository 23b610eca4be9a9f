"""Parse iptables-restore text (what podnet's kube-proxy renderer writes) into rules.

Only the matches and targets kube-proxy uses are understood; anything else is kept as an
``unknown`` match so a trace treats the rule as not matching rather than guessing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from podnet.errors import PodnetError


@dataclass(frozen=True)
class Rule:
    chain: str
    text: str
    matches: dict[str, str] = field(default_factory=dict)  # option -> value ("!" prefix: negated)
    target: str = ""
    target_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ruleset:
    tables: dict[str, dict[str, list[Rule]]]  # table -> chain -> rules in order

    def chain(self, table: str, name: str) -> list[Rule]:
        return self.tables.get(table, {}).get(name, [])


_TAKES_VALUE = {"-s", "-d", "-p", "--dport", "--sport", "-m", "--comment", "--mode", "--probability",
                "--name", "--seconds", "--dst-type", "--src-type", "--mark", "--ctstate",
                "--to-destination", "--or-mark", "--xor-mark", "-j", "-i", "-o", "--nfacct-name"}


def _parse_rule(chain: str, args: list[str], text: str) -> Rule:
    matches: dict[str, str] = {}
    target, targs = "", {}
    i, negate = 0, False
    in_target = False
    while i < len(args):
        a = args[i]
        if a == "!":
            negate = True
            i += 1
            continue
        if a in _TAKES_VALUE and i + 1 < len(args):
            value = args[i + 1]
            if a == "-j":
                target, in_target = value, True
            elif in_target:
                targs[a] = value
            elif a != "-m":
                matches[a] = ("!" if negate else "") + value
            i += 2
        else:
            (targs if in_target else matches)[a] = "" if not negate else "!"
            i += 1
        negate = False
    return Rule(chain, text, matches, target, targs)


def parse_restore(text: str) -> Ruleset:
    tables: dict[str, dict[str, list[Rule]]] = {}
    table = ""
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            tables.setdefault(table, {})
        elif line.startswith(":"):
            tables[table].setdefault(line[1:].split()[0], [])
        elif line.startswith(("-A ", "-I ")):
            try:
                parts = shlex.split(line)
            except ValueError as e:
                raise PodnetError(f"line {n}: cannot parse {line!r}: {e}") from None
            tables[table].setdefault(parts[1], []).append(_parse_rule(parts[1], parts[2:], line))
        else:
            raise PodnetError(f"line {n}: not iptables-restore input: {line!r}")
    return Ruleset(tables)
