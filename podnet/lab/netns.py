"""A thin layer over pyroute2: the only module that speaks netlink.

Namespaces are created explicitly and fail if they exist; sockets attach with ``flags=0`` so a
misspelt name never creates a stray namespace (pyroute2's default is O_CREAT).
"""

from __future__ import annotations

import errno
import os
import subprocess

from pyroute2 import IPRoute, NetlinkError, netns

from podnet.errors import LabError


def create(name: str) -> None:
    if name in netns.listnetns():
        raise LabError(f"netns add {name}", "a namespace of that name already exists")
    netns.create(name)
    with IPRoute(netns=name, flags=0) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def remove(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


def listed() -> list[str]:
    return list(netns.listnetns())


def _index(ipr: IPRoute, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise LabError(f"lookup {ifname}", "no such interface")
    return int(found[0])


def add_bridge(ns: str, ifname: str) -> None:
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link("add", ifname=ifname, kind="bridge")
        ipr.link("set", index=_index(ipr, ifname), state="up")


def add_veth(ns: str, ifname: str, peer_ns: str, peer_ifname: str, mtu: int, master: str) -> None:
    """Create the pair inside ``ns`` with its peer born in ``peer_ns``: the root namespace never
    holds either end."""
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link("add", ifname=ifname, kind="veth", mtu=mtu,
                 peer={"ifname": peer_ifname, "net_ns_fd": peer_ns, "mtu": mtu})
        idx = _index(ipr, ifname)
        if master:
            ipr.link("set", index=idx, master=_index(ipr, master))
        ipr.link("set", index=idx, state="up")
    with IPRoute(netns=peer_ns, flags=0) as ipr:
        ipr.link("set", index=_index(ipr, peer_ifname), state="up")


def add_address(ns: str, ifname: str, cidr: str) -> None:
    address, _, plen = cidr.partition("/")
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.addr("add", index=_index(ipr, ifname), address=address, prefixlen=int(plen))


def add_route(ns: str, dst: str, ifname: str, via: str, scope_link: bool) -> None:
    with IPRoute(netns=ns, flags=0) as ipr:
        spec: dict[str, object] = {"dst": dst, "oif": _index(ipr, ifname)}
        if via:
            spec["gateway"] = via
        if scope_link:
            spec["scope"] = 253
        try:
            ipr.route("add", **spec)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise


def sysctl(ns: str, settings: tuple[tuple[str, str], ...]) -> None:
    # /proc/sys/net shows the namespace of the process that opens it; `ip netns exec` is the
    # simplest way to be in that namespace without changing this process's own.
    args = ["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings)]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    if r.returncode:
        raise LabError(f"[{ns}] sysctl", r.stderr.strip() or f"exit {r.returncode}")


def is_root() -> bool:
    return os.geteuid() == 0


def nft_load(ns: str, text: str) -> None:
    r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text,
                       capture_output=True, text=True, check=False)
    if r.returncode:
        raise LabError(f"[{ns}] nft -f", r.stderr.strip() or f"exit {r.returncode}")
