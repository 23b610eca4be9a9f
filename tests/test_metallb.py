"""MetalLB: address pools read from both config forms, and LoadBalancer addresses allocated as
MetalLB's controller would."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys

import pytest

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
    assert origins(c)["web/d"] == "status" and origins(c)["web/a"] == "pool default"
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
    (SEED_POOL + lb("a", meta=", annotations: {metallb.io/loadBalancerIPs: '10.0.0.1,nope'}"),
     "metadata.annotations[metallb.io/loadBalancerIPs]"),
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
