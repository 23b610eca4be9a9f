"""bird.conf for each node in BGP mode: Calico's node-to-node mesh, rendered for BIRD 2.

Each node originates its pod CIDR (a static blackhole, as Calico's IPAM block route), peers
over iBGP (AS 64512) with every other node, and exports what it learns to the kernel, where
it appears as ``proto bird`` routes via the peer's node IP. ``gateway direct`` because the
nodes share one L2 segment (no IGP to resolve next hops recursively).
"""

from __future__ import annotations

from podnet.dataplane.cni import BGP_AS, NodeState


def peer_name(ip: str) -> str:
    return "Mesh_" + ip.replace(".", "_")


def render(state: NodeState) -> str:
    lines = [
        f"# BIRD 2 configuration for node {state.node} (podnet, Calico-style node-to-node mesh)",
        f"router id {state.ip};",
        "",
        "protocol device {",
        "  scan time 10;",
        "}",
        "",
        "protocol kernel {",
        "  ipv4 {",
        "    import none;",
        "    export all;  # learned pod CIDRs, and our own block as a blackhole",
        "  };",
        "  merge paths on;",
        "}",
        "",
        "protocol static ippool {",
        "  ipv4;",
        f"  route {state.pod_cidr} blackhole;",
        "}",
        "",
        "template bgp mesh {",
        f"  local {state.ip} as {BGP_AS};",
        "  ipv4 {",
        "    import all;",
        '    export where proto = "ippool";',
        "    next hop self;",
        "    gateway direct;",
        "  };",
        "  direct;  # peers share the underlay segment",
        "  connect delay time 1;  # BIRD waits 5 s by default before the first attempt",
        "  connect retry time 1;",
        "}",
    ]
    for peer in state.bgp_peers:
        lines += ["", f"protocol bgp {peer_name(peer)} from mesh {{",
                  f"  neighbor {peer} as {BGP_AS};", "}"]
    return "\n".join(lines) + "\n"
