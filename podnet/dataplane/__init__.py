"""The CNI data plane as desired state: per-node devices, routes, neighbours, FDB, MTU."""

from podnet.dataplane.cni import NodeState, desired_state, render
from podnet.dataplane.mtu import ENCAPSULATION, OVERHEAD, MtuBudget, budget

__all__ = ["ENCAPSULATION", "OVERHEAD", "MtuBudget", "NodeState", "budget", "desired_state", "render"]
