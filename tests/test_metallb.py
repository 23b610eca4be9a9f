"""MetalLB: address pools read from both config forms, and LoadBalancer addresses allocated as
MetalLB's controller would."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys

import pytest
import yaml

from podnet.errors import InputError
from podnet.services import resolve
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import cluster_of

SEED_POOL = """
apiVersion: v1
kind: ConfigMap
metadata: {namespace: metallb-system, name: config}
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses:
      - 192.168.1.240-192.168.1.250
"""


def lb(name: str, ns: str = "web", extra: str = "", meta: str = "") -> str:
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}{meta}}}
spec: {{type: LoadBalancer, selector: {{app: {name}}}, ports: [{{port: 80}}]{extra}}}
"""


def lb_ips(cluster) -> dict[str, tuple[str, ...]]:
    return {p.key.split(":")[0]: p.load_balancer_ips for p in resolve(cluster)
            if p.type == "LoadBalancer"}


def origins(cluster) -> dict[str, str]:
    return {p.key.split(":")[0]: p.lb_origin for p in resolve(cluster) if p.type == "LoadBalancer"}


def test_seed_configmap_pool_allocates_in_order_and_keeps_status_and_requests():
    c = cluster_of(SEED_POOL + lb("b") + lb("a") + lb("c", extra=", loadBalancerIP: 192.168.1.240")
                   + lb("d") + """
status: {loadBalancer: {ingress: [{ip: 192.168.1.241}]}}
""")
    assert [p.name for p in c.lb_pools] == ["default"]
    assert lb_ips(c) == {"web/a": ("192.168.1.242",), "web/b": ("192.168.1.243",),
                         "web/c": ("192.168.1.240",), "web/d": ("192.168.1.241",)}
    assert origins(c)["web/d"] == "status, pool default" and origins(c)["web/a"] == "pool default"
    assert origins(c)["web/c"] == "requested, pool default"


def test_without_pools_only_status_addresses_exist():
    c = cluster_of(lb("a") + lb("b") + "status: {loadBalancer: {ingress: [{ip: 203.0.113.9}]}}\n")
    assert lb_ips(c) == {"web/a": (), "web/b": ("203.0.113.9",)}


CRDS = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: cheap, namespace: metallb-system}
spec:
  addresses: [10.1.0.255-10.1.1.1]
  avoidBuggyIPs: true
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: expensive, namespace: metallb-system}
spec: {addresses: [42.176.25.64/30], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: prod-a, namespace: metallb-system}
spec:
  addresses: [172.20.0.10/32]
  serviceAllocation: {priority: 20, namespaces: [prod]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: prod-b, namespace: metallb-system}
spec:
  addresses: [172.20.0.20/32]
  serviceAllocation:
    priority: 10
    namespaceSelectors: [{matchLabels: {tier: prod}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {tier: prod}}
"""


def test_crd_pools_priority_pinning_auto_assign_and_buggy_ips():
    c = cluster_of(CRDS + lb("p1", "prod") + lb("p2", "prod") + lb("p3", "prod")
                   + lb("w1") + lb("w2") + lb("w3")
                   + lb("x", meta=", annotations: {metallb.io/address-pool: expensive}"))
    ips = lb_ips(c)
    # pinned pools first, lower priority first; then the unpinned auto-assign pool
    assert ips["prod/p1"] == ("172.20.0.20",) and ips["prod/p2"] == ("172.20.0.10",)
    assert ips["prod/p3"] == ("10.1.1.1",)  # 10.1.0.255 and 10.1.1.0 confuse buggy firmware
    assert ips["web/w1"] == () and "pending" in origins(c)["web/w1"]  # cheap is used up
    assert ips["web/x"] == ("42.176.25.64",)  # autoAssign false, but asked for by name
    assert ips["web/w2"] == ips["web/w3"] == ()


def test_requests_outside_pools_or_taken_stay_pending():
    c = cluster_of(SEED_POOL + lb("a", extra=", loadBalancerIP: 10.9.9.9")
                   + lb("b", meta=", annotations: {metallb.universe.tf/loadBalancerIPs: 192.168.1.250}")
                   + lb("c", meta=", annotations: {metallb.io/loadBalancerIPs: 192.168.1.250}"))
    assert lb_ips(c) == {"web/a": (), "web/b": ("192.168.1.250",), "web/c": ()}
    assert "in no MetalLB pool" in origins(c)["web/a"]
    assert "already assigned" in origins(c)["web/c"]


@pytest.mark.parametrize("doc,field", [
    ("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: m}\n"
     "spec: {addresses: [10.0.0.9-10.0.0.1]}", "spec.addresses[0]"),
    ("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: m}\n"
     "spec: {addresses: [banana]}", "spec.addresses[0]"),
    ("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: m}\n"
     "spec: {}", "spec.addresses"),
    (SEED_POOL.replace("192.168.1.240-192.168.1.250", "192.168.1.300/24"),
     "data.config.address-pools[0].addresses[0]"),
    (lb("a", extra=", loadBalancerIP: not-an-ip"), "spec.loadBalancerIP"),
])
def test_bad_pools_and_requests_name_the_object_and_field(doc, field):
    with pytest.raises(InputError) as e:
        resolve(cluster_of(doc))
    assert f"field {field}:" in str(e.value) and "test.yaml" in str(e.value)


def test_duplicate_pool_names_are_refused():
    twice = SEED_POOL + "---\n" + ("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
                                  "metadata: {name: default, namespace: metallb-system}\n"
                                  "spec: {addresses: [10.0.0.0/30]}\n")
    with pytest.raises(InputError, match="also declared in ConfigMap metallb-system/config"):
        cluster_of(twice)


def test_services_cli_shows_where_addresses_came_from(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(SEED_POOL + lb("a") + lb("b", extra=", loadBalancerIP: 10.9.9.9"))
    r = subprocess.run([sys.executable, "-m", "podnet", "services", "-f", str(path)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert re.search(r"192\.168\.1\.240 @node-\d \(pool default\)", r.stdout)
    assert "<pending>" in r.stdout
    assert "note: web/b:80: no load-balancer address: requested 10.9.9.9 is in no MetalLB pool" \
        in " ".join(r.stdout.split())


def test_oslo_declares_the_seed_pool():
    from podnet.model import load

    pools = load([str(EXAMPLES / "oslo")]).lb_pools
    first, last = (int(ipaddress.ip_address(a)) for a in ("192.168.1.240", "192.168.1.250"))
    assert [(p.name, p.ranges, p.auto_assign) for p in pools] == [("default", ((first, last),), True)]


def test_load_balancers_without_node_ports_and_a_full_node_port_range():
    c = cluster_of(SEED_POOL + lb("a", extra=", allocateLoadBalancerNodePorts: false") + lb("b"))
    plans = {p.name: p for p in resolve(c)}
    assert plans["a"].node_port is None and plans["a"].load_balancer_ips == ("192.168.1.240",)
    assert plans["b"].node_port is not None
    full = "".join(f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: x}}\n"
                   f"spec: {{type: NodePort, ports: [{{port: 80}}]}}\n" for i in range(2769))
    with pytest.raises(InputError, match=r"field spec.ports\[0\].nodePort: no NodePort left"):
        resolve(cluster_of(full))


def test_services_json_names_the_announcing_node():
    import json

    from podnet.services.metallb import l2_leader

    r = subprocess.run([sys.executable, "-m", "podnet", "services", "-o", "json", "-f",
                        str(ROOT / "tests" / "manifests" / "lab-services"), "--nodes", "2"],
                       capture_output=True, text=True, timeout=60)
    rows = {row["service"]: row for row in json.loads(r.stdout)["services"]}
    assert rows["shop/web-pool:http"]["announcedBy"] == {
        "192.0.2.96": l2_leader("192.0.2.96", ["node-1", "node-2"])}
    # externalTrafficPolicy Local: only the node with the api pod may announce it
    assert rows["shop/api:api"]["announcedBy"] == {"192.0.2.81": "node-1"}


# --- convergence as MetalLB's controller does it (controller/service.go, internal/allocator) ---

def pool(name: str, *addresses: str, auto: bool = True, buggy: bool = False,
         allocation: dict | None = None) -> str:
    spec: dict = {"addresses": list(addresses), "autoAssign": auto, "avoidBuggyIPs": buggy}
    if allocation is not None:
        spec["serviceAllocation"] = allocation
    return "---\n" + yaml.safe_dump({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                                     "metadata": {"name": name, "namespace": "metallb-system"},
                                     "spec": spec})


def svc(name: str, ns: str = "web", *, ports: tuple[str, ...] = ("TCP/80",),
        annotations: dict | None = None, labels: dict | None = None, lb_ip: str = "",
        status: tuple[str, ...] = (), local: bool = False, selector: dict | None = None) -> str:
    spec: dict = {"type": "LoadBalancer", "selector": selector or {"app": name},
                  "ports": [{"name": f"p{i}", "protocol": p.split("/")[0],
                             "port": int(p.split("/")[1])} for i, p in enumerate(ports)]}
    if lb_ip:
        spec["loadBalancerIP"] = lb_ip
    if local:
        spec["externalTrafficPolicy"] = "Local"
    meta: dict = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    doc: dict = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}
    if status:
        doc["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in status]}}
    return "---\n" + yaml.safe_dump(doc)


def allocations(text: str) -> dict[str, tuple[tuple[str, ...], str]]:
    return {p.key.split(":")[0]: (p.load_balancer_ips, p.lb_origin)
            for p in resolve(cluster_of(text)) if p.type == "LoadBalancer"}


# controller_test.go TestControllerMutation's pools, in IPv4 (podnet's Services are IPv4)
MUTATION_POOLS = (pool("pool1", "1.2.3.0/31") + pool("pool2", "3.4.5.6/32", auto=False)
                  + pool("pool6", "7.8.9.0/31", allocation={"namespaces": ["test-ns1"],
                                                            "priority": 10}))


@pytest.mark.parametrize("service,want,why", [
    # controller_test.go TestControllerMutation "invalid IP assigned": in no pool, moved
    (svc("s", status=("2.3.4.5",)), ("1.2.3.0",), "2.3.4.5 is in no MetalLB pool"),
    # "switch to a different specific pool": the pool annotation changed, moved
    (svc("s", status=("1.2.3.0",), annotations={"metallb.io/address-pool": "pool2"}),
     ("3.4.5.6",), "the annotation asks for pool2"),
    # "request infeasible IP": another address is requested, status cleared, stays pending
    (svc("s", status=("1.2.3.1",), lb_ip="1.2.3.4"), (), "1.2.3.4 is requested"),
    # "IP from wrong ip-family (ipv6) assigned": cleared
    (svc("s", status=("1000::",)), ("1.2.3.0",), "not of the Service's family"),
    # a pinned pool's address held by a Service of another namespace (allocator's Assign
    # checks isPoolCompatibleWithService)
    (svc("s", status=("7.8.9.1",)), ("1.2.3.0",), "does not admit this Service"),
])
def test_status_address_is_revalidated_and_moved_or_cleared(service, want, why):
    ips, origin = allocations(MUTATION_POOLS + service)["web/s"]
    assert ips == want and why in origin and "cleared" in origin


def test_status_addresses_that_fit_are_kept_first_and_a_clash_is_moved():
    got = allocations(MUTATION_POOLS + svc("a", status=("1.2.3.1",))
                      + svc("b", status=("1.2.3.1",)) + svc("c", lb_ip="1.2.3.1")
                      + svc("d", "test-ns1", status=("7.8.9.1",))
                      + svc("e", status=("3.4.5.6",)))
    assert got["web/a"] == (("1.2.3.1",), "status, pool pool1")
    assert got["web/b"][0] == ("1.2.3.0",) and "already assigned to web/a" in got["web/b"][1]
    assert got["web/c"][0] == () and "already assigned to web/a" in got["web/c"][1]
    assert got["test-ns1/d"] == (("7.8.9.1",), "status, pool pool6")
    assert got["web/e"] == (("3.4.5.6",), "status, pool pool2")  # autoAssign false still holds what it has


def test_shared_ip_needs_same_key_backends_and_distinct_ports():
    """allocator_test.go TestAssignment "s3 takes the same IP as s4", "s3 can't share with s4
    (port conflict)", "(wrong sharing key)", "(wrong backend key)"; TestPoolAllocation "s6 can
    get an IPv4 now, with sharing"."""
    share = {"metallb.universe.tf/allow-shared-ip": "share"}
    # requests are served in name order: s3, s4, then the x- ones
    got = allocations(
        pool("test", "1.2.4.0/30")
        + svc("s4", lb_ip="1.2.4.0", annotations=share)
        + svc("s3", lb_ip="1.2.4.0", ports=("TCP/443",), annotations=share)
        + svc("x-clash", lb_ip="1.2.4.0", ports=("TCP/80",), annotations=share)
        + svc("x-other-key", lb_ip="1.2.4.0", ports=("UDP/53",),
              annotations={"metallb.io/allow-shared-ip": "other"})
        + svc("x-local", lb_ip="1.2.4.0", ports=("UDP/54",), annotations=share, local=True)
        + svc("auto-udp", ports=("UDP/80",), annotations=share)
        + svc("auto-plain"))
    assert got["web/s4"][0] == got["web/s3"][0] == ("1.2.4.0",)
    assert "uses port TCP/80 too" in got["web/x-clash"][1] and not got["web/x-clash"][0]
    assert "sharing key is 'share', not 'other'" in got["web/x-other-key"][1]
    assert "backends differ" in got["web/x-local"][1]
    # an automatic allocation joins the first shareable address; a Service without a key
    # passes over it
    assert got["web/auto-udp"] == (("1.2.4.0",), "pool test")
    assert got["web/auto-plain"] == (("1.2.4.1",), "pool test")


def test_local_traffic_shares_only_with_the_same_selector():
    # k8salloc.BackendKey: the selector counts only with externalTrafficPolicy Local
    share = {"metallb.io/allow-shared-ip": "k"}
    got = allocations(pool("p", "10.0.0.0/31")
                      + svc("a", annotations=share, local=True, selector={"app": "x"})
                      + svc("b", annotations=share, local=True, selector={"app": "x"},
                            ports=("TCP/81",))
                      + svc("c", annotations=share, local=True, selector={"app": "y"},
                            ports=("TCP/82",))
                      + svc("d", annotations=share, selector={"app": "z"}, ports=("TCP/83",)))
    assert got["web/a"][0] == got["web/b"][0] == ("10.0.0.0",)
    assert got["web/c"][0] == ("10.0.0.1",) and got["web/d"][0] == ()


TEST3 = pool("test3", "1.2.5.0/24", buggy=True, allocation={"namespaces": ["test-ns1"]})
TEST4 = pool("test4", "1.2.6.0/24", buggy=True,
             allocation={"serviceSelectors": [{"matchLabels": {"team": "metallb"}}]})


@pytest.mark.parametrize("service,admitted", [
    # allocator_test.go TestAssignment "attempt to assign ip from pool pinned on same namespace"
    (svc("s1", "test-ns1", lb_ip="1.2.5.10"), True),
    # "... pinned on different namespace"
    (svc("s1", "testns-not-exist", lb_ip="1.2.5.10"), False),
    # "... pinned with same service label" / "different service label"
    (svc("s1", lb_ip="1.2.6.10", labels={"team": "metallb"}), True),
    (svc("s1", lb_ip="1.2.6.10", labels={"team": "red"}), False),
    (svc("s1", annotations={"metallb.io/loadBalancerIPs": "1.2.6.10"}), False),
])
def test_requested_address_must_be_admitted_by_the_pools_service_allocation(service, admitted):
    (ips, origin), = allocations(TEST3 + TEST4 + service).values()
    assert bool(ips) == admitted
    if not admitted:
        assert "whose serviceAllocation does not admit this Service" in origin


def test_spec_and_annotation_both_requested_is_refused():
    # controller_test.go TestControllerMutation "request IP from both svc.spec.LoadBalancerIP
    # and custom annotation": wantErr, no address
    got = allocations(MUTATION_POOLS + svc("s", lb_ip="1.2.3.1",
                                           annotations={"metallb.io/loadBalancerIPs": "1.2.3.0"}))
    assert got["web/s"][0] == () and "can not have both" in got["web/s"][1]


def test_malformed_annotation_leaves_only_that_service_pending(tmp_path):
    """controller_test.go TestControllerMutation "request invalid IP via custom annotation" and
    "request two IPs from same ip family via custom annotation": that Service fails, no other."""
    text = (SEED_POOL + svc("bad", annotations={"metallb.io/loadBalancerIPs": "10.0.0.1,nope"})
            + svc("two", annotations={"metallb.io/loadBalancerIPs":
                                      "192.168.1.241,192.168.1.242"}) + svc("good"))
    got = allocations(text)
    assert got["web/good"][0] == ("192.168.1.240",)
    assert got["web/bad"][0] == () and "is not a list of IP addresses" in got["web/bad"][1]
    assert got["web/two"][0] == () and "one of each family" in got["web/two"][1]
    path = tmp_path / "m.yaml"
    path.write_text(text)
    env = {**os.environ, "COLUMNS": "300"}
    for cmd in (["services"], ["analyze"]):
        r = subprocess.run([sys.executable, "-m", "podnet", *cmd, "-f", str(path)],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        assert "'10.0.0.1,nope' in the loadBalancerIPs annotation" in " ".join(r.stdout.split())


def test_pool_with_only_a_priority_is_pinned_for_everyone_and_first():
    """config_test.go TestParse "ip address pool with only priority" (config.go
    addressPoolServiceAllocationsFromCR): a serviceAllocation with no namespaces
    and no selectors selects every Service; the allocator's Allocate then tries it among the
    pinned pools, before the plain ones, and never as a plain one."""
    got = allocations(pool("aaa-plain", "10.0.0.0/32") + pool("zzz-prio", "10.9.0.0/32",
                                                             allocation={"priority": 5})
                      + pool("zzz-empty", "10.8.0.0/32", allocation={})
                      + svc("a") + svc("b") + svc("c") + svc("d"))
    assert got["web/a"] == (("10.9.0.0",), "pool zzz-prio")
    assert got["web/b"] == (("10.8.0.0",), "pool zzz-empty")
    assert got["web/c"] == (("10.0.0.0",), "pool aaa-plain")
    assert got["web/d"][0] == ()


def test_namespace_selectors_resolve_against_existing_namespaces():
    """config_test.go TestParse "ip address pool with namespace selection": pool2's selector
    picks test-ns2 by its labels, pool3's picks no namespace and so pins the pool to nobody (and,
    having a serviceAllocation, it is no plain pool either) while restricting no request."""
    pools = (pool("pool1", "10.20.0.0/31", allocation={"priority": 1, "namespaces": ["test-ns1"]})
             + pool("pool2", "30.0.0.0/31", allocation={
                 "priority": 2, "namespaceSelectors": [{"matchLabels": {"team": "metallb"}}]})
             + pool("pool3", "40.0.0.0/31", allocation={
                 "priority": 3, "namespaceSelectors": [{"matchLabels": {"team": "red"}}]}))
    nss = ("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: test-ns2, labels: "
           "{team: metallb}}\n")
    got = allocations(pools + nss + svc("a", "test-ns1") + svc("b", "test-ns2") + svc("c", "other")
                      + svc("d", "other", lb_ip="40.0.0.1"))
    assert got["test-ns1/a"][0] == ("10.20.0.0",) and got["test-ns2/b"][0] == ("30.0.0.0",)
    assert got["other/c"][0] == () and got["other/d"] == (("40.0.0.1",), "requested, pool pool3")


@pytest.mark.parametrize("allocation,field", [
    # config_test.go TestParse "ip address pool with duplicate namespace selection"
    ({"namespaces": ["test-ns1", "test-ns1"]}, "namespaces"),
    # "ip address pool with duplicate namespace selectors"
    ({"namespaceSelectors": [{"matchLabels": {"foo": "bar"}}] * 2}, "namespaceSelectors"),
    # "ip address pool with duplicate service selection"
    ({"serviceSelectors": [{"matchLabels": {"team": "a"}}] * 2}, "serviceSelectors"),
])
def test_repeated_service_allocation_entries_are_refused(allocation, field):
    with pytest.raises(InputError, match=rf"field spec.serviceAllocation.{field}: .* twice"):
        cluster_of(pool("p", "10.0.0.0/30", allocation=allocation))
