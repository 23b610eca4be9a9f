"""Services as kube-proxy sees them: per-port plans, and the rules each proxy mode writes."""

from podnet.services.iptables import IptablesOptions, render_iptables
from podnet.services.nftables import NftablesOptions, render_nftables
from podnet.services.resolve import EndpointPlan, ServicePlan, resolve

__all__ = ["EndpointPlan", "IptablesOptions", "NftablesOptions", "ServicePlan", "render_iptables",
           "render_nftables", "resolve"]
