"""Hostname rules of the Gateway API: a ``*.`` label matches one or more labels (a suffix
match, unlike nginx's one-label wildcard), listener and route hostnames intersect to the more
specific of the two, and the more specific hostname wins a request."""

from __future__ import annotations


def matches(pattern: str, host: str) -> bool:
    """``*.example.com`` matches ``a.example.com`` and ``a.b.example.com``, not
    ``example.com``; "" matches every host."""
    if not pattern:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def intersect(listener: str, route: str) -> str | None:
    """The hostnames both accept, as one hostname (the more specific), or None."""
    if not listener:
        return route
    if not route or route == listener:
        return listener
    if listener.startswith("*.") and matches(listener, route.removeprefix("*.")
                                             if route.startswith("*.") else route):
        return route
    if route.startswith("*.") and matches(route, listener.removeprefix("*.")
                                          if listener.startswith("*.") else listener):
        return listener
    return None


def effective(listener: str, route_hostnames: tuple[str, ...]) -> tuple[str, ...]:
    """The hostnames a route serves on a listener: the intersections ("" for every host)."""
    if not route_hostnames:
        return (listener,)
    return tuple(h for h in (intersect(listener, r) for r in route_hostnames) if h is not None)


def specificity(pattern: str) -> tuple[int, int]:
    """(characters of a non-wildcard hostname, characters of the hostname): larger wins."""
    return (0 if pattern.startswith("*.") or not pattern else len(pattern), len(pattern))
