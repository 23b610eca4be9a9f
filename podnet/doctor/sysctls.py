"""A node's sysctls as ``podnet doctor --sysctl FILE`` reads them: ``sysctl -a`` output
(``net.netfilter.nf_conntrack_max = 131072``) or sysctl.conf / sysctl.d (``key=value``, ``#``
and ``;`` comments, a leading ``-`` that tells sysctl to ignore a failure, ``/`` as separator),
as sysctl(8) and sysctl.d(5) describe them. Files apply in the order given, a later value
replacing an earlier one as ``sysctl --system`` does. Only the conntrack keys the doctor uses are
kept (and must be whole numbers); every other key is skipped, whatever its value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from podnet.errors import InputError, SourceRef

PREFIX = "net.netfilter."
# the short names the conntrack checks use, and the one key that still has its pre-netfilter
# name (net.nf_conntrack_max is the same counter, kept for old scripts)
ALIASES = {"net.nf_conntrack_max": "nf_conntrack_max"}
USED = re.compile(r"nf_conntrack_(max|buckets|tcp_timeout_[a-z_]+)")
_KEY = re.compile(r"[A-Za-z0-9_.*/:@-]+")


@dataclass(frozen=True, slots=True)
class NodeValue:
    value: int
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class NodeSysctls:
    """Short key (``nf_conntrack_max``, ``nf_conntrack_tcp_timeout_close_wait``) -> the value
    the node has and the line that said it."""

    values: Mapping[str, NodeValue]

    def get(self, key: str) -> NodeValue | None:
        return self.values.get(key)

    def to_json(self) -> dict[str, object]:
        return {k: {"value": v.value, "from": v.where} for k, v in sorted(self.values.items())}


def _short(key: str) -> str | None:
    key = key.replace("/", ".")
    if key in ALIASES:
        return ALIASES[key]
    if key.startswith(PREFIX):
        rest = key.removeprefix(PREFIX)
        if USED.fullmatch(rest):
            return rest
    return None


def parse_sysctls(files: Iterable[tuple[str, str]]) -> NodeSysctls:
    """``(name, text)`` pairs, in order; a line that is not ``key = value`` (or a comment or
    blank) is an error naming the file and the line."""
    values: dict[str, NodeValue] = {}
    for name, text in files:
        src = SourceRef(file=name)
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            key, eq, value = line.partition("=")
            key = key.strip().removeprefix("-")
            if not eq or not _KEY.fullmatch(key):
                shown = line if len(line) <= 80 else line[:77] + "..."
                raise InputError(src, "", f"line {n}: {shown!r} is not a sysctl setting (write "
                                          "'key = value', as 'sysctl -a' prints it)")
            short = _short(key)
            if short is None:
                continue
            value = value.strip()
            if not value.isdigit():
                raise InputError(src, key, f"line {n}: {value!r} is not a whole number")
            values[short] = NodeValue(int(value), name, n)
    return NodeSysctls(MappingProxyType(values))
