"""nginx's location choice for one URI, and the URI as nginx matches it.

nginx matches ``$uri``: percent-decoded, with ``//`` merged (``merge_slashes on``) and ``.``
and ``..`` resolved, without the query string. Among non-regex locations an exact ``=`` match
wins, else the longest matching prefix (case-sensitive); once a server is in regex mode every
location is ``~* "^path"`` and the first that matches, in config order, wins.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote

from podnet.ingress.routes import Location, Server


@lru_cache(maxsize=8192)  # pure, and a request corpus asks for the same paths many times
def normalize(raw_path: str) -> str:
    path = unquote(raw_path or "/")
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for seg in path.split("/")[1:]:
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    trailing = path.endswith(("/", "/.", "/.."))
    out = "/" + "/".join(parts)
    return out + "/" if trailing and out != "/" else out


def choose(server: Server, uri: str) -> Location | None:
    if server.regex:
        for loc in server.locations:
            if loc.pattern is not None and loc.pattern.match(uri):
                return loc
        return None
    best: Location | None = None
    for loc in server.locations:
        if loc.modifier == "=":
            if loc.path == uri:
                return loc
        elif uri.startswith(loc.path) and (best is None or len(loc.path) > len(best.path)):
            best = loc
    return best


def nginx_size(text: str) -> int | None:
    """An nginx size (``1m``, ``50M``, ``512k``, ``1g``, ``1024``) in bytes."""
    t = text.strip().lower()
    mult = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}.get(t[-1:], 1)
    digits = t[:-1] if t[-1:] in "kmg" and t[-1:] else t
    return int(digits) * mult if digits.isdigit() else None
