"""The gate `lab up` holds its daemons at: they are started first, import and prepare while
the namespaces are built, and bind their sockets only once told the namespaces exist.

A daemon started with ``--gate`` reads a line from stdin (a pipe `lab up` holds) at each of
its gates, the last before it binds: ``go`` lets it on; end of file (`lab up` failed or died
before releasing it) makes it exit without binding anything.
"""

from __future__ import annotations

import sys

FLAG = "--gate"
GO = b"go\n"


def wait(argv: list[str]) -> None:
    if FLAG not in argv:
        return
    if sys.stdin.buffer.readline() != GO:
        raise SystemExit(0)
