"""Pausing Python's cyclic garbage collector around the kube-proxy renderers.

A renderer builds hundreds of thousands of short-lived lists, tuples and strings, none of
them in a reference cycle; each time the young generations overflow the collector scans
them, and now and then the whole heap, and frees nothing. Paused, a 10,000-service iptables
render takes 0.69 s instead of 0.77 s even counting a full collection afterwards, and the
first render 0.94 s instead of 1.25 s. Reference counting frees everything as usual.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return wrapper
