"""Services as kube-proxy sees them: per-port plans, and the rules each proxy mode writes.

The renderers are imported on first use: resolving a Service's endpoints (an Ingress backend)
needs none of their code."""

from typing import TYPE_CHECKING, Any

from podnet.services.resolve import EndpointPlan, ServicePlan, resolve

if TYPE_CHECKING:
    from podnet.services.iptables import IptablesOptions, render_iptables
    from podnet.services.nftables import NftablesOptions, render_nftables

__all__ = ["EndpointPlan", "IptablesOptions", "NftablesOptions", "ServicePlan", "render_iptables",
           "render_nftables", "resolve"]

_LAZY = {"IptablesOptions": "iptables", "render_iptables": "iptables",
         "NftablesOptions": "nftables", "render_nftables": "nftables"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"podnet.services.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'podnet.services' has no attribute {name!r}")
