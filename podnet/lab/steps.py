"""The steps of a lab plan, each a readable line (``str(step)``, what `lab up --dry-run`
prints), and the plan itself. Its own module, apart from ``plan``'s builder: `lab up` imports
these, the ledger and the bring-up first and starts making the namespaces while the builder's
imports (ingress, gateway, policy and kube-proxy renderers) and the plan are still running."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podnet.dataplane.cni import Device, Fdb, Neighbour


@dataclass(frozen=True, slots=True)
class AddNetns:
    name: str

    def __str__(self) -> str:
        return f"netns add {self.name}"


@dataclass(frozen=True, slots=True)
class AddBridge:
    netns: str
    ifname: str

    def __str__(self) -> str:
        return f"[{self.netns}] link add {self.ifname} type bridge; up"


@dataclass(frozen=True, slots=True)
class AddVeth:
    netns: str
    ifname: str
    peer_netns: str
    peer_ifname: str
    mtu: int
    master: str = ""  # bridge to enslave the first end to

    def __str__(self) -> str:
        m = f" master {self.master}" if self.master else ""
        return (f"[{self.netns}] link add {self.ifname} mtu {self.mtu}{m} type veth peer "
                f"{self.peer_ifname} netns {self.peer_netns}; up both")


@dataclass(frozen=True, slots=True)
class AddAddress:
    netns: str
    ifname: str
    cidr: str

    def __str__(self) -> str:
        return f"[{self.netns}] addr add {self.cidr} dev {self.ifname}"


@dataclass(frozen=True, slots=True)
class AddRoute:
    netns: str
    dst: str
    ifname: str
    via: str = ""
    scope_link: bool = False
    onlink: bool = False

    def __str__(self) -> str:
        via = f" via {self.via}" if self.via else ""
        scope = " scope link" if self.scope_link else ""
        onlink = " onlink" if self.onlink else ""
        return f"[{self.netns}] route add {self.dst}{via} dev {self.ifname}{scope}{onlink}"


@dataclass(frozen=True, slots=True)
class WriteResolvConf:
    netns: str
    text: str  # what `ip netns exec` bind-mounts over /etc/resolv.conf

    def __str__(self) -> str:
        first = self.text.splitlines()[0] if self.text else ""
        return f"write /etc/netns/{self.netns}/resolv.conf ({first})"


@dataclass(frozen=True, slots=True)
class StartDns:
    config: str  # JSON: upstream IP and namespace, the cluster DNS pods

    def __str__(self) -> str:
        n = len(json.loads(self.config)["servers"])
        return f"start DNS: cluster DNS in {n} kube-dns endpoint pods, upstream in external"


@dataclass(frozen=True, slots=True)
class StartIngress:
    """nginx with one controller's configuration, in one of its pods; files relative to the
    controller's own directory in the lab state (certificates are made at apply time)."""

    netns: str
    pod: str  # ns/name
    controller: str  # ns/name
    tag: str  # the directory's name: a digest of the pod
    config: str
    certs: tuple[tuple[str, tuple[str, ...]], ...]  # file stem -> the names it covers

    def __str__(self) -> str:
        return (f"start ingress controller {self.controller}: nginx in {self.pod} "
                f"({self.config.count(chr(10) + chr(9) + 'server {')} servers)")


@dataclass(frozen=True, slots=True)
class StartGateway:
    """nginx serving one Gateway (NGINX Gateway Fabric's data plane), in the Gateway's
    data-plane pod; files as for ``StartIngress``."""

    netns: str
    gateway: str  # ns/name
    tag: str
    config: str
    certs: tuple[tuple[str, tuple[str, ...]], ...]

    def __str__(self) -> str:
        return (f"start gateway {self.gateway}: nginx in {self.netns} "
                f"({self.config.count(chr(10) + chr(9) + 'server {')} servers)")


@dataclass(frozen=True, slots=True)
class LoadIptables:
    netns: str
    text: str  # iptables-restore --noflush input

    def __str__(self) -> str:
        return f"[{self.netns}] iptables-restore --noflush <{self.text.count(chr(10))} lines>"


@dataclass(frozen=True, slots=True)
class AddVxlan:
    netns: str
    device: Device

    def __str__(self) -> str:
        return f"[{self.netns}] {self.device}"


@dataclass(frozen=True, slots=True)
class AddNeighbour:
    netns: str
    entry: Neighbour

    def __str__(self) -> str:
        return f"[{self.netns}] {self.entry}"


@dataclass(frozen=True, slots=True)
class AddFdb:
    netns: str
    entry: Fdb

    def __str__(self) -> str:
        return f"[{self.netns}] {self.entry}"


@dataclass(frozen=True, slots=True)
class StartBird:
    netns: str
    node: str
    config: str

    def __str__(self) -> str:
        peers = self.config.count("protocol bgp ")
        return f"[{self.netns}] start bird (node {self.node}, {peers} BGP peers)"


@dataclass(frozen=True, slots=True)
class WaitRoutes:
    netns: str
    prefixes: tuple[str, ...]

    def __str__(self) -> str:
        return f"[{self.netns}] wait for learned routes {' '.join(self.prefixes)}"


@dataclass(frozen=True, slots=True)
class Sysctl:
    netns: str
    settings: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"[{self.netns}] sysctl " + " ".join(f"{k}={v}" for k, v in self.settings)


@dataclass(frozen=True, slots=True)
class LoadRules:
    netns: str
    what: str  # "policy" or a kube-proxy mode
    text: str  # nft -f input

    def __str__(self) -> str:
        lines = self.text.count("\n")
        return f"[{self.netns}] nft -f <{self.what} rules, {lines} lines>"


Step = (AddNetns | AddBridge | AddVeth | AddAddress | AddRoute | Sysctl | LoadRules | AddVxlan
        | AddNeighbour | AddFdb | StartBird | WaitRoutes | LoadIptables | WriteResolvConf
        | StartDns | StartIngress | StartGateway)


@dataclass(frozen=True)
class PodPlace:
    key: str  # namespace/name
    netns: str
    ip: str
    node: str
    ports: tuple[tuple[int, str], ...]
    dns_server: bool = False  # serves the cluster DNS on 53/UDP instead of the workload
    ingress: str = ""  # the ingress controller whose nginx serves this pod's ports


@dataclass(frozen=True)
class LabPlan:
    lab: str
    cni: str
    steps: tuple[Step, ...]
    pods: tuple[PodPlace, ...]
    external_ip: str
    proxy: str = "iptables"
    notes: tuple[str, ...] = ()
    # Not pods: the API server stand-in on each control-plane node (default/kubernetes's
    # endpoints), served by the workload server after the pods, so a hostNetwork pod that
    # declares the same port keeps it, as the prediction assumes.
    listeners: tuple[PodPlace, ...] = ()

    def text(self) -> str:
        return "".join(f"{s}\n" for s in self.steps)
