"""What the lab reads and sets in its namespaces besides links (``podnet.lab.batch`` and
``podnet.lab.rtnl`` make those): the routes BIRD installed, over pyroute2; sysctls; rulesets;
removing a namespace.

Sockets are opened from inside an existing namespace, so a misspelt name fails instead of
creating a stray namespace.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from podnet.errors import LabError
from podnet.lab.nsenter import inside

if TYPE_CHECKING:
    from pyroute2 import IPRoute

# pyroute2 is imported where a socket is opened or a message built, not here: its package
# import runs ~0.25 s of __init__ (every pyroute2 module), which `lab up --dry-run`, `lab probe`
# and `lab down` of an empty lab need not pay (issue 17)
NETNS_RUN_DIR = "/var/run/netns"


class Kernel:
    """Netlink sockets bound to lab namespaces, one per namespace, reused. Each is opened
    from a thread that has entered the namespace (a socket keeps the namespace it was born
    in): ~2 ms, where pyroute2's ``IPRoute(netns=...)`` spawns a helper process (~15 ms)."""

    def __init__(self) -> None:
        self._sockets: dict[str, IPRoute] = {}

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ipr in self._sockets.values():
            ipr.close()
        self._sockets.clear()

    def ipr(self, ns: str) -> IPRoute:
        sock = self._sockets.get(ns)
        if sock is None:
            from pyroute2 import IPRoute

            with inside(ns):  # fails on a missing namespace rather than creating one
                sock = self._sockets[ns] = IPRoute()
        return sock

    def routes(self, ns: str) -> list[str]:
        """Destinations (CIDR) of the main table's IPv4 routes."""
        out = []
        for r in self.ipr(ns).get_routes(family=2, table=254):
            dst = r.get_attr("RTA_DST")
            if dst:
                out.append(f"{dst}/{r['dst_len']}")
        return out


def remove(name: str) -> None:
    if name in listed():
        from pyroute2 import netns

        netns.remove(name)


def listed() -> list[str]:
    """The named namespaces, as pyroute2's ``netns.listnetns`` reads them."""
    try:
        return os.listdir(NETNS_RUN_DIR)
    except FileNotFoundError:
        return []


def sysctl(ns: str, settings: tuple[tuple[str, str], ...]) -> None:
    # /proc/sys/net shows the namespace of the thread that opens a file there, so this thread
    # writes them from inside (`ip netns exec sysctl` cost ~50 ms a node: it remounts /sys)
    with inside(ns):
        for key, value in settings:
            path = "/proc/sys/" + key.replace(".", "/")
            try:
                with open(path, "w") as f:
                    f.write(value)
            except OSError as e:
                raise LabError(f"[{ns}] sysctl {key}={value}", e.strerror or str(e)) from None


def _run_inside(ns: str, argv: list[str], text: str) -> subprocess.CompletedProcess[str]:
    """``argv`` in the namespace: forked from this thread while it is inside (the child is
    born there), without `ip netns exec`'s remount of /sys, which neither nft nor
    iptables-restore needs."""
    with inside(ns):
        return subprocess.run(argv, input=text, capture_output=True, text=True, check=False)


def nft_load(ns: str, text: str) -> None:
    r = _run_inside(ns, ["nft", "-f", "-"], text)
    if r.returncode:
        raise LabError(f"[{ns}] nft -f", r.stderr.strip() or f"exit {r.returncode}")


def iptables_load(ns: str, text: str) -> None:
    r = _run_inside(ns, ["iptables-restore", "--noflush"], text)
    if r.returncode:
        raise LabError(f"[{ns}] iptables-restore", r.stderr.strip() or f"exit {r.returncode}")
