"""Every naming scheme podnet uses, in one place.

- Objects: ``namespace/name``; Service ports ``namespace/name:port`` (kube-proxy's
  ``ServicePortName``: the ``:port`` part only when the port is named).
- Workload pods: ``<workload>-<ordinal>`` (Deployment, ReplicaSet, StatefulSet, Job, CronJob),
  ``<daemonset>-<node>`` (DaemonSet). Real clusters add random suffixes; podnet's names are
  deterministic so outputs are byte-stable and a person can type them.
- Nodes synthesised when none are given: ``node-1`` … ``node-N``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import NamedTuple

# the name a lab probe asks the lab's DNS servers for: each answers with who it is
WHOAMI = "whoami.podnet."


def qualified(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def workload_pod(workload: str, ordinal: int) -> str:
    return f"{workload}-{ordinal}"


def daemonset_pod(daemonset: str, node: str) -> str:
    return f"{daemonset}-{node}"


def synthetic_node(index: int) -> str:
    return f"node-{index + 1}"


# Lab naming. Network namespaces: ``pn-<lab>_fabric``, ``pn-<lab>_external``,
# ``pn-<lab>_n_<node>`` and ``pn-<lab>_p_<namespace>_<pod>``. The separator ``_`` can appear in
# no Kubernetes name (DNS-1123) and no lab name, so the scheme is injective: lab ``rel`` with a
# node ``n-fabric`` and lab ``rel-n`` cannot share a namespace, nor can pods ``a-b/c`` and
# ``a/b-c``. Names that would grow past NETNS_MAX hash their object part behind ``~`` (no
# Kubernetes name holds one either). Every name starts with ``pn-<lab>_``; teardown still only
# removes what the ledger recorded. Interface names must fit IFNAMSIZ (15 characters): the node
# side of a pod's veth is ``cali`` + 11 hex digits of a hash of the pod (Calico's shape), the
# fabric side of a node's link ``fab`` + 12 hex digits; inside a pod or node it is ``eth0``.


IFNAMSIZ = 15
# the NFLOG group the lab's policy rulesets log their drops to (podnet.lab.droplog), and how
# much of a dropped packet a record carries: an IPv4 header with options and the ports
DROP_LOG_GROUP = 7
DROP_LOG_SNAPLEN = 64
NETNS_MAX = 100  # well under NAME_MAX, so /run/netns/<name> and /etc/netns/<name>/ always fit
_LAB_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$")


def lab_name_error(lab: str) -> str | None:
    if not isinstance(lab, str) or not _LAB_NAME.fullmatch(lab):
        return (f"lab name {lab!r} must be 1-12 characters of lowercase letters, digits and '-', "
                "starting and ending with a letter or digit")
    return None


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def lab_prefix(lab: str) -> str:
    return f"pn-{lab}_"


def fabric_netns(lab: str) -> str:
    return f"pn-{lab}_fabric"


def external_netns(lab: str) -> str:
    return f"pn-{lab}_external"


def resolv_dir(lab: str, index: int) -> str:
    """The lab's ``index``-th resolv.conf directory under /etc/netns (podnet.lab.resolvfiles):
    in the lab's name space, and no namespace's name (those say _fabric, _external, _n_, _p_)."""
    return f"pn-{lab}_resolv-{index}"


def resolv_link(directory: str, index: int) -> str:
    """The ``index``-th symbolic link to ``directory`` (a ``resolv_dir``) beside it."""
    return f"{directory}-link-{index}"


def _bounded(prefix: str, ident: str) -> str:
    name = prefix + "_" + ident
    return name if len(name) <= NETNS_MAX else f"{prefix}~{_digest(ident, 32)}"


def node_netns(lab: str, node: str) -> str:
    return _bounded(f"pn-{lab}_n", node)


def pod_netns(lab: str, namespace: str, pod: str) -> str:
    return _bounded(f"pn-{lab}_p", f"{namespace}_{pod}")


def short_tag(name: str) -> str:
    """A short fixed-length stand-in for a name in file names (unix socket paths stop at 107)."""
    return _digest(name, 12)


def pod_veth(namespace: str, pod: str) -> str:
    return "cali" + _digest(f"{namespace}/{pod}", 11)


def policy_egress_chain(veth: str) -> str:
    """The NetworkPolicy ruleset's per-pod chains, Felix's from-/to-workload shape."""
    return f"fw-{veth}"


def policy_ingress_chain(veth: str) -> str:
    return f"tw-{veth}"


def policy_rest_chain(chain: str) -> str:
    """Where a pod chain with admin tiers goes on: the NetworkPolicy (or baseline) part."""
    return f"{chain}-np"


def fabric_port(name: str) -> str:
    return "fab" + _digest(name, 12)


# kube-proxy (pkg/proxy/iptables/proxier.go): per service-port chains are a prefix plus the
# first 16 characters of base32(sha256(servicePortName + lower-case protocol)), endpoint
# chains hash the endpoint "IP:port" in too; 9 + 16 characters fit iptables' 28-char limit.


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = tuple(a + b for a in _B32 for b in _B32)  # 10 bits -> 2 characters


def _hash16(text: str) -> str:
    # 16 base32 characters are exactly the first 80 bits of the digest; slicing those out of
    # one integer is much faster than base64.b32encode (it matters at 100,000 endpoints).
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:10], "big")
    p = _B32_PAIRS
    return (p[n >> 70] + p[(n >> 60) & 1023] + p[(n >> 50) & 1023] + p[(n >> 40) & 1023]
            + p[(n >> 30) & 1023] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023])


def _hash8(text: str) -> str:
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:5], "big")
    p = _B32_PAIRS
    return p[n >> 30] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023]


NFT_NAME_MAX = 256 - 16  # knftables.NameLengthMax minus the longest chain prefix


@functools.lru_cache(maxsize=1 << 18)
def nft_hash_and_truncate(name: str) -> str:
    """kube-proxy nftables mode's ``hashAndTruncate``: 8 base32 characters of sha256(name), a
    dash, the name; names over the limit end in ``...``."""
    out = f"{_hash8(name)}-{name}"
    return out if len(out) <= NFT_NAME_MAX else out[:NFT_NAME_MAX - 3] + "..."


class ServiceChains(NamedTuple):
    """The per service-port chains of one proxy mode: cluster, local-only, external, firewall."""

    service: str
    local: str
    external: str
    firewall: str


def kube_service_chains(service_port_name: str, protocol: str) -> ServiceChains:
    """iptables mode: ``KUBE-SVC-``, ``KUBE-SVL-``, ``KUBE-EXT-``, ``KUBE-FW-`` + the hash."""
    h = port_proto_hash(service_port_name, protocol)
    return ServiceChains(f"KUBE-SVC-{h}", f"KUBE-SVL-{h}", f"KUBE-EXT-{h}", f"KUBE-FW-{h}")


def nft_service_base(namespace: str, name: str, protocol: str, port_name: str) -> str:
    """nftables mode's servicePortChainNameBase: ``ns/name/proto/port``, hashed and truncated."""
    return nft_hash_and_truncate(f"{namespace}/{name}/{protocol.lower()}/{port_name}")


def nft_service_chains(base: str) -> ServiceChains:
    return ServiceChains(f"service-{base}", f"local-{base}", f"external-{base}",
                         f"firewall-{base}")


def nft_endpoint_chain(namespace: str, name: str, protocol: str, port_name: str, ip: str,
                       port: int) -> str:
    """servicePortEndpointChainNameBase: IPv6 colons become dots, as kube-proxy writes them."""
    ip = ip.replace(":", ".")
    return "endpoint-" + nft_hash_and_truncate(
        f"{namespace}/{name}/{protocol.lower()}/{port_name}__{ip}/{port}")


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    return _hash16(service_port_name + protocol.lower())


def service_port_name(namespace: str, name: str, port_name: str) -> str:
    """kube-proxy's ServicePortName string: ``ns/name`` plus ``:port`` for a named port."""
    return f"{namespace}/{name}:{port_name}" if port_name else f"{namespace}/{name}"


def kube_chain(prefix: str, spn: str, protocol: str) -> str:
    return f"{prefix}{port_proto_hash(spn, protocol)}"


@functools.lru_cache(maxsize=1 << 18)
def kube_sep_chain(spn: str, protocol: str, endpoint: str) -> str:
    return "KUBE-SEP-" + _hash16(spn + protocol.lower() + endpoint)
