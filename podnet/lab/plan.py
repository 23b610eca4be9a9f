"""Cluster → the ordered steps that build it in network namespaces. Pure: no kernel here.

Topology (DESIGN.md, "The lab's shape"): a ``fabric`` namespace holds the underlay bridge;
each node is a namespace whose ``eth0`` is plugged into that bridge with the node IP; each pod
is a namespace whose ``eth0`` is one end of a veth to its node. Pods are wired Calico-style:
the pod's address is a /32, its default route goes to the link-local 169.254.1.1 on eth0, and
the node holds that address on ``lo`` and answers ARP for it, so routing, not bridging, moves pod traffic.
An ``external`` namespace on the underlay plays the outside client.

``str(step)`` is a readable line; ``lab up --dry-run`` prints them (golden-tested).
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING

from podnet import names
from podnet.analysis import Analysis
from podnet.dataplane import bird
from podnet.dataplane.cni import desired_state
from podnet.dns.records import build_zone, zone_data
from podnet.dns.resolvconf import ResolvConf, dns_service_ip, node_resolv, resolv_conf
from podnet.errors import LabPrerequisiteError
from podnet.ingress.controllers import controller_pods, find_controllers
from podnet.lab.features import LAB_IPTABLES_FEATURES
from podnet.lab.layout import check_cni
from podnet.lab.steps import (
    AddAddress,
    AddBridge,
    AddFdb,
    AddNeighbour,
    AddNetns,
    AddRoute,
    AddVeth,
    AddVxlan,
    LabPlan,
    LoadIptables,
    LoadRules,
    PodPlace,
    StartBird,
    StartDns,
    StartGateway,
    StartIngress,
    Step,
    Sysctl,
    WaitRoutes,
    WriteResolvConf,
)
from podnet.model import gateways
from podnet.model.builtin import APISERVER_PORT, apiserver_answer, apiserver_listeners
from podnet.model.cluster import Cluster
from podnet.model.vocabulary import LAB_PROXY_MODES
from podnet.policy.nft import render_nodes
from podnet.services.iptables import render_jumps

if TYPE_CHECKING:
    from podnet.gateway.attach import Config as GatewayConfig

POD_GATEWAY = "169.254.1.1"


def _proxy_mode(cluster: Cluster, proxy: str | None) -> tuple[str, tuple[str, ...]]:
    if proxy is not None:
        if proxy not in LAB_PROXY_MODES:
            raise LabPrerequisiteError(
                f"--proxy {proxy}: the lab loads kube-proxy's {' or '.join(LAB_PROXY_MODES)} rules "
                "(IPVS virtual servers need CONFIG_IP_VS, which the lab does not assume; "
                "`podnet services --render ipvs` shows them)")
        return proxy, ()
    configured = cluster.net.proxy_mode
    if configured in LAB_PROXY_MODES:
        return configured, ()
    return "iptables", (f"the KubeProxyConfiguration says mode {configured}; the lab loads "
                        "iptables instead (pass --proxy nftables for the other mode it builds)",)


def build_plan(cluster: Cluster, lab: str, cni: str | None = None,
               proxy: str | None = None) -> LabPlan:
    why = names.lab_name_error(lab)
    if why:
        raise LabPrerequisiteError(why)
    mode = cni or cluster.net.cni
    check_cni(mode)
    proxy, notes = _proxy_mode(cluster, proxy)
    underlay = ipaddress.ip_network(cluster.net.node_cidr, strict=False)
    mtu = cluster.net.underlay_mtu
    states = desired_state(cluster, mode)
    pod_mtu = states[0].pod_mtu if states else mtu
    fabric = names.fabric_netns(lab)
    steps: list[Step] = [AddNetns(fabric), AddBridge(fabric, "br0")]
    for node in cluster.nodes:
        ip = ipaddress.ip_address(node.internal_ip or "")
        if ip not in underlay:
            raise LabPrerequisiteError(
                f"node {node.name} has IP {ip}, outside the lab's underlay {underlay}: the lab "
                f"puts every node on that one segment")
        ns = names.node_netns(lab, node.name)
        steps += [AddNetns(ns),
                  AddVeth(fabric, names.fabric_port(node.name), ns, "eth0", mtu, master="br0"),
                  AddAddress(ns, "eth0", f"{ip}/{underlay.prefixlen}"),
                  # The pods' gateway is a local address of the node, so the node answers
                  # their ARP for it on every veth (arp_ignore=0) without proxy_arp, which
                  # would need a default route the lab's nodes must not have.
                  AddAddress(ns, "lo", f"{POD_GATEWAY}/32"),
                  # no per-peer ICMP rate limit: a probe run asks thousands of questions a
                  # second, and a node's 1/s limit would turn kube-proxy's REJECTs into timeouts
                  Sysctl(ns, (("net.ipv4.ip_forward", "1"), ("net.ipv4.icmp_ratelimit", "0")))]
    places: list[PodPlace] = []
    analysis = Analysis(cluster, iptables_features=LAB_IPTABLES_FEATURES)
    service_plans = analysis.plans
    dns_ip = dns_service_ip(cluster)
    dns_pods = {e.pod for p in service_plans if p.cluster_ip == dns_ip and p.port == 53
                and p.protocol == "UDP" for e in p.endpoints}
    node_dns = node_resolv(cluster)  # once: per pod it was a fifth of the plan's time
    for node in cluster.nodes:
        steps.append(WriteResolvConf(names.node_netns(lab, node.name),
                                     ResolvConf(node_dns.nameservers, (), ()).text()))
    runs = ingress_pods(cluster)
    for pod in cluster.pods:
        # an ingress controller's or a Gateway's pod serves with nginx, not with the workload
        # (a Gateway's with no programmed listener serves nothing)
        nginx_pod = pod.key in runs or pod.labels.get(gateways.APP_LABEL) == gateways.APP
        ports = () if nginx_pod else tuple(sorted({(c.port, c.protocol) for c in pod.ports}))
        node_ns = names.node_netns(lab, pod.node)
        if pod.host_network:
            places.append(PodPlace(pod.key, node_ns, pod.ip, pod.node, ports))
            continue
        ns = names.pod_netns(lab, pod.namespace, pod.name)
        veth = names.pod_veth(pod.namespace, pod.name)
        steps += [AddNetns(ns),
                  AddVeth(node_ns, veth, ns, "eth0", pod_mtu),
                  AddAddress(ns, "eth0", f"{pod.ip}/32"),
                  AddRoute(ns, f"{POD_GATEWAY}/32", "eth0", scope_link=True),
                  AddRoute(ns, "0.0.0.0/0", "eth0", via=POD_GATEWAY),
                  AddRoute(node_ns, f"{pod.ip}/32", veth, scope_link=True),
                  WriteResolvConf(ns, resolv_conf(cluster, pod, node_dns, cluster_dns=dns_ip).text())]
        places.append(PodPlace(pod.key, ns, pod.ip, pod.node, ports, pod.key in dns_pods,
                               runs.get(pod.key, "")))
    for st in states:
        ns = names.node_netns(lab, st.node)
        for dev in st.devices:
            steps.append(AddVxlan(ns, dev))
        for r in st.routes:
            if r.proto != "bird":  # BGP routes are learned by BIRD, never written
                steps.append(AddRoute(ns, r.dst, r.dev, via=r.via, onlink=r.onlink))
        steps += [AddNeighbour(ns, n) for n in st.neighbours]
        steps += [AddFdb(ns, f) for f in st.fdb]
    if mode == "bgp":
        steps += [StartBird(names.node_netns(lab, st.node), st.node, bird.render(st))
                  for st in states]
        steps += [WaitRoutes(names.node_netns(lab, st.node),
                             tuple(r.dst for r in st.routes if r.proto == "bird" and not r.blackhole))
                  for st in states]
    rulesets = render_nodes(cluster, analysis.compiled, [n.name for n in cluster.nodes],
                            names.DROP_LOG_GROUP)
    for node in cluster.nodes:
        ns = names.node_netns(lab, node.name)
        steps.append(LoadRules(ns, "policy", rulesets[node.name]))
        rules = analysis.rules(node.name, proxy)
        if proxy == "nftables":
            steps.append(LoadRules(ns, "kube-proxy nftables", rules))
        else:
            steps.append(LoadIptables(ns, rules + render_jumps()))
    ext_ip = str(underlay.broadcast_address - 1)
    ext = names.external_netns(lab)
    steps += [AddNetns(ext), AddVeth(fabric, names.fabric_port("external"), ext, "eth0", mtu,
                                     master="br0"),
              AddAddress(ext, "eth0", f"{ext_ip}/{underlay.prefixlen}")]
    # The outside knows the pod networks (as a BGP-peered router would), so pods can reach
    # the upstream DNS and external clients get replies.
    steps += [AddRoute(ext, n.pod_cidr or "", "eth0", via=n.internal_ip or "") for n in cluster.nodes]
    # A real node routes the service range somewhere (its default route): the forward hook, where
    # kube-proxy rejects a Service without endpoints, comes after routing. The lab's nodes have
    # no default route, so the range goes to the outside, which drops what nothing translated.
    steps += [AddRoute(names.node_netns(lab, n.name), cluster.net.service_cidr, "eth0",
                       via=ext_ip) for n in cluster.nodes]
    # LoadBalancer and external IPs are attracted by one node each, as MetalLB's layer-2 mode
    # does by answering ARP for them there; the outside gets a host route to that node.
    node_ip = {n.name: n.internal_ip or "" for n in cluster.nodes}
    for addr, leader in analysis.attracted.items():
        steps.append(AddRoute(ext, f"{addr}/32", "eth0", via=node_ip[leader]))
    servers = [{"key": p.key, "netns": p.netns} for p in places if p.dns_server]
    steps.append(StartDns(json.dumps({"upstream_ip": ext_ip, "external_netns": ext,
                                      "servers": servers, "zone": zone_data(build_zone(cluster))},
                                     sort_keys=True)))
    steps += ingress_steps(cluster, places)
    steps += gateway_steps(cluster, places)
    listeners = tuple(PodPlace(apiserver_answer(node), names.node_netns(lab, node), ip, node,
                               ((APISERVER_PORT, "TCP"),))
                      for ip, node in sorted(apiserver_listeners(cluster.nodes).items()))
    return LabPlan(lab, mode, tuple(steps), tuple(places), ext_ip, proxy, notes, listeners)


def ingress_pods(cluster: Cluster) -> dict[str, str]:
    """pod -> the ingress-nginx controller it runs (declared controllers with running pods)."""
    return {p.key: c.key for c in find_controllers(cluster) if c.declared
            for p in controller_pods(cluster, c)}


def ingress_steps(cluster: Cluster, places: list[PodPlace]) -> list[Step]:
    if not any(p.ingress for p in places):
        return []  # nor the route tables' and nginx renderer's imports
    from podnet.ingress import nginx
    from podnet.ingress.routes import build_all

    out: list[Step] = []
    tables = {t.controller.key: t for t in build_all(cluster, find_controllers(cluster))}
    for place in places:
        table = tables.get(place.ingress)
        if table is None:
            continue
        out.append(StartIngress(place.netns, place.key, place.ingress,
                                f"ingress-{names.short_tag(place.key)}",
                                nginx.render(table, nginx.lab_files(table)),
                                nginx.cert_hosts(table)))
    return out


def _gateway_pods(cluster: Cluster, config: GatewayConfig) -> dict[str, str]:
    """data-plane pod -> the Gateway it serves (those the lab runs: a programmed HTTP or HTTPS
    listener)."""
    from podnet.predict.gateway import data_plane, served

    out = {}
    for key in served(config):
        pod = data_plane(cluster, key)
        if cluster.pod(pod.key) is not None:
            out[pod.key] = key
    return out


def gateway_steps(cluster: Cluster, places: list[PodPlace]) -> list[Step]:
    """Each Gateway's nginx (NGINX Gateway Fabric's data plane) in its data-plane pod, so the
    pod's NetworkPolicy applies to its connections and its LoadBalancer Service reaches it."""
    if not gateways.declared((*cluster.configs, *cluster.ignored)):
        return []  # nor the Gateway API's imports
    from podnet.gateway import nginx as gw_nginx
    from podnet.gateway.attach import build

    config = build(cluster)
    where = {p.key: p for p in places}
    out: list[Step] = []
    for pod, key in sorted(_gateway_pods(cluster, config).items()):
        place = where.get(pod)
        if place is None:
            continue
        out.append(StartGateway(place.netns, key, f"gateway-{names.short_tag(key)}",
                                gw_nginx.render(config, key, gw_nginx.lab_files(config, key)),
                                gw_nginx.cert_hosts(config, key)))
    return out
