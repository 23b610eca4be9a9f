"""A thin layer over pyroute2, for the links and neighbours the lab makes (a pod's own links,
addresses and routes go over one datagram each: ``podnet.lab.rtnl``).

Namespaces are created explicitly and fail if they exist; sockets are opened from inside an
existing namespace, so a misspelt name fails instead of creating a stray namespace.
"""

from __future__ import annotations

import errno
import os
import subprocess
from typing import TYPE_CHECKING

from podnet.errors import LabError
from podnet.lab.nsenter import create_netns, inside

if TYPE_CHECKING:
    from pyroute2 import IPRoute

# pyroute2 is imported where a socket is opened or a message built, not here: its package
# import runs ~0.25 s of __init__ (every pyroute2 module), which `lab up --dry-run`, `lab probe`
# and `lab down` of an empty lab need not pay (issue 17)
NETNS_RUN_DIR = "/var/run/netns"

RTNH_F_ONLINK = 4


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

    def create(self, name: str) -> None:
        if name in listed():
            raise LabError(f"netns add {name}", "a namespace of that name already exists")
        create_netns(name)
        ipr = self.ipr(name)
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")

    def add_bridge(self, ns: str, ifname: str) -> None:
        ipr = self.ipr(ns)
        ipr.link("add", ifname=ifname, kind="bridge")
        ipr.link("set", index=_index(ipr, ifname), state="up")

    def add_veth(self, ns: str, ifname: str, peer_ns: str, peer_ifname: str, mtu: int,
                 master: str) -> None:
        """Create the pair inside ``ns`` with its peer born in ``peer_ns``: the root namespace
        never holds either end."""
        ipr = self.ipr(ns)
        ipr.link("add", ifname=ifname, kind="veth", mtu=mtu,
                 peer={"ifname": peer_ifname, "net_ns_fd": peer_ns, "mtu": mtu})
        idx = _index(ipr, ifname)
        if master:
            ipr.link("set", index=idx, master=_index(ipr, master))
        ipr.link("set", index=idx, state="up")
        peer = self.ipr(peer_ns)
        peer.link("set", index=_index(peer, peer_ifname), state="up")

    def add_address(self, ns: str, ifname: str, cidr: str) -> None:
        address, _, plen = cidr.partition("/")
        ipr = self.ipr(ns)
        ipr.addr("add", index=_index(ipr, ifname), address=address, prefixlen=int(plen))

    def add_route(self, ns: str, dst: str, ifname: str, via: str, scope_link: bool,
                  onlink: bool = False) -> None:
        ipr = self.ipr(ns)
        spec: dict[str, object] = {"dst": dst, "oif": _index(ipr, ifname)}
        if via:
            spec["gateway"] = via
        if scope_link:
            spec["scope"] = 253
        if onlink:
            spec["flags"] = RTNH_F_ONLINK
        from pyroute2 import NetlinkError

        try:
            ipr.route("add", **spec)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise


    def add_vxlan(self, ns: str, name: str, vni: int, local: str, port: int, mac: str, mtu: int,
                  address: str) -> None:
        ipr = self.ipr(ns)
        ipr.link("add", ifname=name, kind="vxlan", vxlan_id=vni, vxlan_local=local,
                 vxlan_port=port, vxlan_learning=0, vxlan_link=_index(ipr, "eth0"),
                 address=mac, mtu=mtu)
        idx = _index(ipr, name)
        ipr.link("set", index=idx, state="up")
        if address:
            addr, _, plen = address.partition("/")
            ipr.addr("add", index=idx, address=addr, prefixlen=int(plen))

    def add_neighbour(self, ns: str, ip: str, mac: str, dev: str) -> None:
        from pyroute2.netlink.rtnl import ndmsg

        ipr = self.ipr(ns)
        ipr.neigh("add", dst=ip, lladdr=mac, ifindex=_index(ipr, dev),
                  state=ndmsg.states["permanent"])

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


def _index(ipr: IPRoute, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise LabError(f"lookup {ifname}", "no such interface")
    return int(found[0])


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
