"""MTU findings, from the budget in ``podnet/dataplane/mtu.py``: a pod MTU the path between nodes
cannot carry (fragmentation, or drops under DF), or one smaller than it could be (every full-size
packet carries less than the path allows)."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.dataplane.mtu import MtuBudget, budget
from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check, to_yaml
from podnet.errors import SourceRef

TCP_IP_HEADERS = 40  # IPv4 20 + TCP 20: a full-size segment carries MTU - 40 bytes of payload


def _where(ctx: Context) -> tuple[str, SourceRef, str]:
    """(object, source, field) of the setting that gave the pods their MTU."""
    origin = ctx.cluster.net.origin.get("pod_mtu", "")
    src = ctx.source_of(origin) if origin else SourceRef(file=ctx.first_file)
    field = {"ConfigMap": "data.veth_mtu" if src.name == "calico-config" else "data.net-conf.json"
             }.get(src.kind, "")
    return (src.object() or f"pod MTU ({origin or 'derived'})", src, field)


def _patch(ctx: Context, b: MtuBudget, mtu: int) -> str:
    net = ctx.cluster.net
    if net.cni_plugin == "calico":
        return to_yaml({"data": {"veth_mtu": str(mtu)}})
    if net.cni_plugin == "flannel":
        return f'in net-conf.json, "MTU": {mtu} (or leave MTU out: Flannel derives it)'
    return f"set the CNI's pod MTU to {mtu}"


def _evidence(b: MtuBudget) -> dict[str, object]:
    return {"cni": b.mode, "underlayMTU": b.underlay_mtu, "overhead": b.overhead,
            "podMTU": b.pod_mtu, "podMTUOrigin": b.pod_mtu_origin, "pathCarries": b.tunnel_mtu}


@check("mtu-exceeds-path",
       summary="The pods' MTU is larger than the path between nodes carries after "
               "encapsulation: large packets are fragmented, or dropped when DF is set.",
       example="pods send up to 1500-byte packets but a vxlan path carries 1450 (underlay 1500 "
               "- 50): larger cross-node packets are fragmented or dropped")
def mtu_exceeds_path(ctx: Context) -> Iterator[Finding]:
    b = budget(ctx.cluster.net)
    if b.problem is None:
        return
    obj, src, field = _where(ctx)
    yield Finding(
        "mtu-exceeds-path", "error", obj, src, field,
        f"pods send packets of up to {b.pod_mtu} bytes but a {b.mode} path between nodes carries "
        f"{b.tunnel_mtu} (underlay {b.underlay_mtu} - {b.overhead} of encapsulation): cross-node "
        f"packets over {b.tunnel_mtu} bytes are fragmented, or dropped when DF is set (TCP "
        "stalls if the ICMP 'fragmentation needed' is filtered)",
        _evidence(b), _patch(ctx, b, b.tunnel_mtu))


@check("mtu-below-optimal",
       summary="The pods' MTU is smaller than the path carries: every full-size packet wastes "
               "the difference.",
       example="pods use MTU 1440 where a bgp path carries 1500: 60 bytes unused in every "
               "full-size packet, 4.2% more packets for a bulk transfer")
def mtu_below_optimal(ctx: Context) -> Iterator[Finding]:
    b = budget(ctx.cluster.net)
    if b.pod_mtu >= b.tunnel_mtu:
        return
    obj, src, field = _where(ctx)
    lost = b.tunnel_mtu - b.pod_mtu
    more = (b.tunnel_mtu - TCP_IP_HEADERS) / (b.pod_mtu - TCP_IP_HEADERS) - 1
    yield Finding(
        "mtu-below-optimal", "info", obj, src, field,
        f"pods use MTU {b.pod_mtu} where a {b.mode} path carries {b.tunnel_mtu} (underlay "
        f"{b.underlay_mtu} - {b.overhead}): {lost} bytes unused in every full-size packet, "
        f"{more:.1%} more packets (and per-packet work) for a bulk transfer",
        {**_evidence(b), "bytesUnused": lost, "extraPackets": round(more, 4)},
        _patch(ctx, b, b.tunnel_mtu))
