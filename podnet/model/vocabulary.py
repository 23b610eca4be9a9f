"""The valid values of podnet's enumerations, written once: the model checks manifests against
them, the command line checks its options against them (``podnet.cli.common``), help texts and
error messages list them from here."""

from __future__ import annotations

# Pod network data planes the analyzer models (``podnet.dataplane``), Flannel's and Calico's.
CNI_MODES = ("vxlan", "host-gw", "bgp", "ipip", "wireguard")
# The subset the lab builds in network namespaces (``podnet.lab.plan``).
LAB_CNI_MODES = ("vxlan", "host-gw", "bgp")
# kube-proxy's modes (KubeProxyConfiguration ``mode``), each rendered by ``podnet.services``.
PROXY_MODES = ("iptables", "nftables", "ipvs")
# The lab loads these; IPVS virtual servers need CONFIG_IP_VS, which the lab does not assume.
LAB_PROXY_MODES = ("iptables", "nftables")
# Service and container port protocols (core/v1 ``Protocol``).
PROTOCOLS = ("TCP", "UDP", "SCTP")
# Host facts that change kube-proxy's iptables text (``podnet.services.iptables``): the
# nfnetlink_acct counters, MASQUERADE --random-fully, and the sysctl
# net.netfilter.nf_conntrack_tcp_be_liberal=1 (kube-proxy then installs no INVALID drop).
IPTABLES_FEATURES = ("nfacct", "random-fully", "tcp-be-liberal")
# what a current node has: the sysctl is 0 unless someone (kube-proxy's
# conntrack.tcpBeLiberal) sets it
DEFAULT_IPTABLES_FEATURES = ("nfacct", "random-fully")
# Stub resolvers whose search-list behaviour ``podnet.dns.resolver`` follows.
LIBCS = ("glibc", "musl")
# netpol-analyzer's output formats: ``podnet connlist`` (``podnet.policy.connlist_formats``)
# and ``podnet diff`` (``podnet.policy.diff_formats``, which has no json).
CONNLIST_FORMATS = ("txt", "json", "csv", "md", "dot")
DIFF_FORMATS = ("txt", "csv", "md", "dot")
