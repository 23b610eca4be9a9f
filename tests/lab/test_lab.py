"""Bring labs up for real, probe them, break them, kill them halfway, tear them down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from podnet import names
from podnet.errors import LabError, LabPrerequisiteError
from podnet.lab import apply, daemons, ledger
from podnet.lab.plan import build_plan
from podnet.lab.steps import AddAddress, AddNetns, AddRoute
from podnet.model import load
from tests.conftest import ROOT
from tests.lab.conftest import netns_names

BASIC = str(ROOT / "tests" / "manifests" / "lab-basic")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=300)


def test_up_probe_down(lab_name):
    r = podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    assert len([n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]) == 8
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["mismatches"] == []
    assert data["ports"] == ["80/TCP", "5432/TCP", "53/UDP"]
    assert all(all(row) for row in data["matrix"]["80/TCP"])
    # The workload server answers with the pod's name, from inside the destination pod.
    places = {p["key"]: p for p in ledger.Ledger(lab_name).read_state("pods.json")}
    dst = places["shop/db-1"]
    code = (f"import socket; s = socket.create_connection(('{dst['ip']}', 5432), 2); "
            "print(s.recv(100).decode().strip())")
    r = podnet("lab", "exec", "--name", lab_name, "shop/web-0", "--", sys.executable, "-c", code)
    assert r.stdout.strip() == "shop/db-1", r.stderr
    # an HTTP request (an ingress controller's) gets an HTTP answer naming the pod and what it saw
    code = (f"import socket; s = socket.create_connection(('{dst['ip']}', 5432), 2); "
            "s.sendall(b'GET /x?y=1 HTTP/1.1\\r\\nHost: h\\r\\nX-Test: 1\\r\\n\\r\\n'); "
            "import time; time.sleep(0.3); print(s.recv(4000).decode())")
    r = podnet("lab", "exec", "--name", lab_name, "shop/web-0", "--", sys.executable, "-c", code)
    head, _, body = r.stdout.partition("\n\n")  # text mode reads CRLF as LF
    assert head.startswith("HTTP/1.1 200 OK"), r.stdout + r.stderr
    seen = json.loads(body)
    assert (seen["pod"], seen["path"], seen["headers"]["x-test"]) == ("shop/db-1", "/x?y=1", "1")
    status = {d["name"]: d for d in json.loads(podnet("lab", "status", "-o", "json").stdout)}
    assert status[lab_name]["netns"] == 8 and status[lab_name]["processes"] >= 1
    assert (status[lab_name]["cni"], status[lab_name]["proxy"]) == ("vxlan", "iptables")
    r = podnet("lab", "down", "--name", lab_name)
    assert r.returncode == 0
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]
    assert podnet("lab", "down", "--name", lab_name).returncode == 0  # idempotent


def test_probe_starts_from_the_layout_up_kept_and_redoes_one_that_is_wrong(lab_name):
    """`lab up` keeps what `lab probe` probes unless told the ports (the pods in the model's
    order, their ports, the nodes): the probe starts its pods' probes from it before rebuilding
    the model. A layout the model disagrees with, a malformed one, or none (a lab of an earlier
    version) gives the same verdicts."""
    from podnet.cli.lab_run import probe_layout
    from podnet.cli.lab_state import cluster_of

    r = podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    led = ledger.Ledger(lab_name)
    state = led.read_state("lab.json")
    kept = state["probe"]
    assert kept == probe_layout(cluster_of(state))  # what the probe checks it against
    assert kept["ports"] == [[80, "TCP"], [5432, "TCP"], [53, "UDP"]]
    base = json.loads(podnet("lab", "probe", "--name", lab_name, "-o", "json").stdout)
    assert base["mismatches"] == [] and base["probes"] > 0
    wrong = [{**kept, "pods": kept["pods"][::-1]}, {**kept, "ports": [[80, "TCP"]]},
             {**kept, "pods": ["shop/nobody"]}, {**kept, "nodes": ["../../x"]},
             {**kept, "ports": [["eighty", "TCP"]]}, None]
    for layout in wrong:
        led.write_state("lab.json", {**state, "probe": layout} if layout else
                        {k: v for k, v in state.items() if k != "probe"})
        r = podnet("lab", "probe", "--name", lab_name, "-o", "json")
        assert r.returncode == 0 and "Traceback" not in r.stderr, (layout, r.stderr)
        data = json.loads(r.stdout)
        assert (data["matrix"], data["mismatches"]) == (base["matrix"], []), layout


def test_probe_sees_a_broken_route(lab_name):
    assert podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--nodes", "2").returncode == 0
    cluster = load([BASIC], nodes=2)
    victim = cluster.nodes[1]
    subprocess.run(["ip", "netns", "exec", f"pn-{lab_name}_n_{cluster.nodes[0].name}", "ip", "route",
                    "del", victim.pod_cidr or ""], check=True)
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json", "--ports", "80/TCP",
               "--timeout", "0.5")
    assert r.returncode == 1
    mism = json.loads(r.stdout)["mismatches"]
    flows = [m for m in mism if isinstance(m["predicted"], bool)]
    assert flows and all(m["predicted"] and not m["observed"] for m in flows)
    # the built-in default/kubernetes lives on the first node, which lost its way back to the
    # victim's pods: their connections to the API server go unanswered too
    services = [m for m in mism if not isinstance(m["predicted"], bool)]
    on_victim = {p.key for p in cluster.pods if p.node == victim.name}
    assert services and all(m["to"].startswith("default/kubernetes:https")
                            and m["from"] in on_victim and m["observed"] == "dropped"
                            for m in services)


def test_second_up_is_refused(lab_name):
    assert podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--nodes", "2").returncode == 0
    r = podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 2 and "already up" in r.stderr and "Traceback" not in r.stderr


def test_failed_up_leaves_nothing(lab_name):
    plan = build_plan(load([BASIC], nodes=2), lab_name, "host-gw")
    broken = plan.__class__(plan.lab, plan.cni, (*plan.steps, AddRoute(
        f"pn-{lab_name}_fabric", "10.99.0.0/16", "no-such-if0")), plan.pods, plan.external_ip)
    with pytest.raises(LabError) as e:
        apply.up(broken, {"docs": [], "nodes": 2})
    assert "no-such-if0" in str(e.value)
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]
    assert not ledger.exists(lab_name)


def test_a_failure_inside_a_batch_tears_down_the_whole_batch(lab_name):
    """The failing line sits among the first pods' lines, in the same `ip -batch` run that
    created every namespace: all of them go, and the error names that step."""
    plan = build_plan(load([BASIC], nodes=2), lab_name, "vxlan")
    at = next(i for i, s in enumerate(plan.steps) if isinstance(s, AddRoute)) + 1
    bad = AddAddress(plan.steps[at - 1].netns, "no-such-if1", "10.99.0.1/32")
    broken = plan.__class__(plan.lab, plan.cni, (*plan.steps[:at], bad, *plan.steps[at:]),
                            plan.pods, plan.external_ip)
    with pytest.raises(LabError) as e:
        apply.up(broken, {"docs": [], "nodes": 2})
    assert e.value.step == str(bad) and "no-such-if1" in str(e.value)
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]
    assert not ledger.exists(lab_name)


def test_a_plan_refused_after_the_namespaces_began_leaves_nothing(lab_name):
    """`lab up` starts making the namespaces before the plan is built; the plan then refuses
    (`--proxy ipvs` is refused by the plan builder): every namespace goes, and the state too."""
    r = podnet("lab", "up", "-f", BASIC, "--name", lab_name, "--proxy", "ipvs")
    assert r.returncode == 2 and "CONFIG_IP_VS" in r.stderr and "Traceback" not in r.stderr
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]
    assert not ledger.exists(lab_name)


@pytest.mark.parametrize("node", ["node-1", "node-2"])  # one in each `ip`'s share
def test_a_namespace_the_early_batch_cannot_make_fails_up_and_tears_down(lab_name, node):
    plan = build_plan(load([BASIC], nodes=2), lab_name, "host-gw")
    taken = f"pn-{lab_name}_n_{node}"
    subprocess.run(["ip", "netns", "add", taken], check=True)
    begun = daemons.begin(lab_name)
    begun.make([s.name for s in plan.steps if isinstance(s, AddNetns)])
    with pytest.raises(LabError) as e:
        apply.up(plan, {"docs": [], "nodes": 2}, begun)
    assert e.value.step == f"netns add {taken}" and "exists" in str(e.value)
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]
    assert not ledger.exists(lab_name)


@pytest.mark.parametrize("cni", ["ipip", "wireguard"])
def test_lab_refuses_modes_it_does_not_build_yet(cni):
    with pytest.raises(LabPrerequisiteError, match="not built by the lab"):
        build_plan(load([BASIC], nodes=2), "x", cni)
    r = podnet("lab", "up", "-f", BASIC, "--name", "x", "--cni", cni)
    assert r.returncode == 2 and "not built by the lab" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("proxy", ["iptables", "nftables"])
@pytest.mark.parametrize("cni", ["host-gw", "vxlan", "bgp"])
def test_oslo_policies_enforced_for_real(lab_name, cni, proxy):
    oslo = str(ROOT / "examples" / "oslo")
    r = podnet("lab", "up", "-f", oslo, "--name", lab_name, "--cni", cni, "--proxy", proxy)
    assert r.returncode == 0, r.stderr
    node1 = f"pn-{lab_name}_n_oslo-1"
    nft = subprocess.run(["ip", "netns", "exec", node1, "nft", "list", "tables"], capture_output=True,
                         text=True, check=True).stdout
    assert ("table ip kube-proxy" in nft) == (proxy == "nftables")
    routes = subprocess.run(["ip", "netns", "exec", node1, "ip", "route"], capture_output=True,
                            text=True, check=True).stdout
    if cni == "vxlan":
        assert "10.244.1.0/24 via 10.244.1.0 dev flannel.1 proto static onlink" in routes
    elif cni == "bgp":
        assert "10.244.1.0/24 via 10.0.0.2 dev eth0 proto bird" in routes  # learned, not written
        peers = json.loads(podnet("lab", "bgp", "--name", lab_name, "-o", "json").stdout)
        assert {p["peer"]: p["info"] for p in peers["oslo-1"]} == {
            "10.0.0.2": "Established", "10.0.0.3": "Established"}
    else:
        assert "10.244.1.0/24 via 10.0.0.2 dev eth0 proto static" in routes
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json", "--ports", "8080/TCP,80/TCP,53/UDP",
               "--timeout", "0.5")
    assert r.stdout, r.stderr
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["mismatches"] == [], data["mismatches"]
    pods = data["pods"]
    m = data["matrix"]["8080/TCP"]
    fe, be, db = (pods.index(p) for p in ("production/frontend-0", "production/backend-1",
                                          "production/database-0"))
    assert m[fe][be] is True  # allow-frontend-to-backend, across nodes
    assert m[db][be] is False  # default-deny, dropped by the node's nft rules
    denied = sum(not v for row in m for v in row)
    assert denied > 10
    # kube-proxy's own rules DNAT the ClusterIP; the answer names the endpoint that served it
    svc = {(s["from"], s["service"]): s for s in data["services"]}
    fe = svc[("production/frontend-0", "production/backend-service:http")]
    assert fe["observed"] in ("production/backend-0", "production/backend-1") and fe["agrees"]
    db = svc[("production/database-0", "production/backend-service:http")]
    assert db["observed"] == "dropped" and db["predicted"] == "denied"
    dns = svc[("production/frontend-0", "kube-system/kube-dns:dns")]
    assert dns["observed"].startswith("kube-system/coredns-")
    # the built-in default/kubernetes: the API server stand-in on the control-plane node,
    # from a pod on that node and from one across the underlay
    for src in ("production/frontend-0", "production/backend-1"):
        api = svc[(src, "default/kubernetes:https")]
        assert (api["observed"], api["to"], api["agrees"]) == (
            "kube-apiserver@oslo-1", "10.96.0.1:443", True)


SERVICES = str(ROOT / "tests" / "manifests" / "lab-services")


@pytest.mark.parametrize("proxy", ["iptables", "nftables"])
def test_services_from_outside(lab_name, proxy):
    """NodePorts on every node and MetalLB-style LoadBalancer IPs, probed from the external
    namespace: Cluster policy masquerades on the way to another node (so a policy admitting
    only the client drops it there), Local keeps the client's IP and drops at nodes without
    an endpoint."""
    r = podnet("lab", "up", "-f", SERVICES, "--name", lab_name, "--nodes", "2", "--proxy", proxy)
    assert r.returncode == 0, r.stderr
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json", "--timeout", "0.5")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["mismatches"] == [], data["mismatches"]
    ext = {(s["service"], s["to"]): s["observed"] for s in data["services"]
           if s["from"].startswith("external")}
    cluster = load([SERVICES], nodes=2)
    api_node = cluster.pod("shop/api-0").node
    ip = {n.name: n.internal_ip for n in cluster.nodes}
    other = next(n for n in ip if n != api_node)
    assert ext[("shop/api-cluster:api", f"{ip[api_node]}:30083")] == "shop/api-0"
    assert ext[("shop/api-cluster:api", f"{ip[other]}:30083")] == "dropped"  # masqueraded, denied
    assert ext[("shop/api:api", f"{ip[api_node]}:30082")] == "shop/api-0"  # Local keeps the client
    assert ext[("shop/api:api", f"{ip[other]}:30082")] == "dropped"  # no local endpoint
    assert ext[("shop/api:api", "192.0.2.81:8080")] == "shop/api-0"
    assert ext[("shop/web-lb:http", "192.0.2.80:80")] in ("shop/web-0", "shop/web-1")
    assert ext[("shop/web-pool:http", "192.0.2.96:80")] in ("shop/web-0", "shop/web-1")  # MetalLB pool
    assert ext[("shop/web-ext:http", "192.0.2.90:80")] in ("shop/web-0", "shop/web-1")
    # ClientIP affinity: each client's repeats land where its first connection did
    sticky = [s for s in data["services"] if s["service"] == "shop/web-sticky:http"]
    assert len(sticky) >= 4 and all(s["repeats"] == [s["observed"]] * 3 for s in sticky)
    assert all(ext[("shop/web:http", f"{ip[n]}:30080")].startswith("shop/web-") for n in ip)
    # from a pod whose egress admits only the web pods: its own node's NodePort and the LB IP
    # are translated before the egress check; another node's NodePort is not
    seen = {(s["service"], s["to"]): s["observed"] for s in data["services"]
            if s["from"] == "shop/client-0"}
    own = cluster.pod("shop/client-0").node
    far = next(n for n in ip if n != own)
    assert seen[("shop/web:http", f"{ip[own]}:30080")].startswith("shop/web-")
    assert seen[("shop/web:http", f"{ip[far]}:30080")] == "dropped"
    assert seen[("shop/web-lb:http", "192.0.2.80:80")].startswith("shop/web-")
    # a hostNetwork endpoint answers from its node's namespace, at the node's IP
    exporter = cluster.services[[s.name for s in cluster.services].index("exporter")]
    from_web = {s["observed"] for s in data["services"] if s["from"].startswith("shop/web-")
                and s["to"] == f"{exporter.cluster_ip}:9100"}
    assert from_web and from_web <= {"shop/exporter-node-1", "shop/exporter-node-2"}
    # the client's egress admits no node IP, but its own node is always reachable
    assert seen[("shop/exporter:metrics", f"{exporter.cluster_ip}:9100")] in (
        "dropped", f"shop/exporter-{own}")


def test_a_zombie_daemon_counts_as_stopped():
    """`lab down` stops waiting once a daemon has exited, without waiting for init to reap it."""
    from podnet.lab.teardown import _gone

    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert not _gone(proc.pid)
        proc.terminate()
        deadline = time.monotonic() + 5
        while not _gone(proc.pid):  # exited but not yet reaped: a zombie
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert os.path.exists(f"/proc/{proc.pid}")
    finally:
        proc.kill()
        proc.wait()
    assert _gone(proc.pid)


def test_a_namespace_is_read_from_inside_and_never_made_by_accident(lab_name):
    """netns.Kernel (the routes BIRD installed) opens its socket from inside the namespace: a
    missing one is an error, not created on the fly, and the thread comes back home."""
    from podnet.lab.netns import Kernel, remove

    name = f"pn-{lab_name}_x"
    home = os.readlink("/proc/thread-self/ns/net")
    with Kernel() as k:
        with pytest.raises(OSError):
            k.ipr(name)
        assert not os.path.exists(f"/run/netns/{name}")
        host_routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        try:
            subprocess.run(["ip", "netns", "add", name], check=True)
            for line in ("link set lo up", "route add 10.9.8.0/24 dev lo"):
                subprocess.run(["ip", "-n", name, *line.split()], check=True)
            assert k.routes(name) == ["10.9.8.0/24"]  # the namespace's table, not the host's
            assert subprocess.run(["ip", "route"], capture_output=True,
                                  text=True).stdout == host_routes
            assert os.readlink("/proc/thread-self/ns/net") == home
        finally:
            remove(name)
    assert not os.path.exists(f"/run/netns/{name}")


def test_host_gw_on_the_nodes_own_underlay(lab_name, tmp_path):
    """Nodes at 192.168.50.11 and .12 (issue #12): the lab builds its fabric on their segment
    and host-gw routes between them."""
    (tmp_path / "n.yaml").write_text("".join(
        f"apiVersion: v1\nkind: Node\nmetadata: {{name: {n}}}\nstatus: {{addresses: "
        f"[{{type: InternalIP, address: {ip}}}]}}\n---\n"
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{n}, namespace: x}}\n"
        f"spec: {{nodeName: {n}, containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\n---\n"
        for n, ip in (("a", "192.168.50.11"), ("b", "192.168.50.12"))))
    r = podnet("lab", "up", "-f", str(tmp_path), "--name", lab_name, "--cni", "host-gw")
    assert r.returncode == 0, r.stderr
    routes = subprocess.run(["ip", "netns", "exec", f"pn-{lab_name}_n_a", "ip", "route"],
                            capture_output=True, text=True, check=True).stdout
    assert "via 192.168.50.12 dev eth0" in routes
    data = json.loads(podnet("lab", "probe", "--name", lab_name, "-o", "json").stdout)
    assert data["mismatches"] == [] and data["matrix"]["80/TCP"] == [[True, True], [True, True]]


def test_probe_engine_waits_one_timeout_for_all_and_its_verdicts_do_not_depend_on_it(lab_name):
    """Every probe starts at once and a silent one is denied at its deadline, not before: the
    verdicts with a 3 s timeout are those with 0.5 s, and the 3 s run takes one timeout, not
    one per probe or per source. TCP and UDP (DNS, and elsewhere a port nobody listens on:
    ICMP refused when policy lets it through), allowed and denied, from sources shared among the workers."""
    from podnet.lab.probe import probe

    _, groups, _, _ = _oslo_probes(lab_name)
    quick = probe(groups, timeout=0.5)
    start = time.monotonic()
    slow = probe(groups, timeout=3.0)
    took = time.monotonic() - start
    assert slow == quick
    assert len(slow) == sum(len(ts) for ts in groups.values())
    for proto in ("TCP", "UDP"):
        assert {ok for t, ok in slow.items() if t.proto == proto} == {True, False}, proto
    assert 3.0 <= took < 5.5, f"{took:.2f} s for a 3 s timeout"


def _oslo_probes(lab_name: str) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, str],
                                          list[str]]:
    """The oslo lab's pods, every pod-to-pod probe on two TCP ports and DNS, the pods' own
    addresses by namespace (raw SYNs) and the nodes' namespaces (drop records)."""
    from podnet.lab.probe import Target

    r = podnet("lab", "up", "-f", str(ROOT / "examples" / "oslo"), "--name", lab_name,
               "--cni", "host-gw")
    assert r.returncode == 0, r.stderr
    places = {p["key"]: p for p in ledger.Ledger(lab_name).read_state("pods.json")}
    keys = sorted(places)
    groups = {places[src]["netns"]: [Target(i, j, places[dst]["ip"], port, proto)
                                     for j, dst in enumerate(keys) if i != j
                                     for port, proto in ((8080, "TCP"), (5432, "TCP"), (53, "UDP"))]
              for i, src in enumerate(keys)}
    own = {p["netns"]: p["ip"] for p in places.values()
           if p["netns"] != names.node_netns(lab_name, p["node"])}
    nodes = [names.node_netns(lab_name, n) for n in sorted({p["node"] for p in places.values()})]
    assert own and nodes
    return places, groups, own, nodes


def test_raw_syns_and_drop_records_give_the_plain_verdicts_without_waiting(lab_name):
    """TCP probes as raw SYNs from the pods' own namespaces, and denied probes judged by the
    nodes' drop records: the verdicts of the plain probe (connect, close, deadline), and a run
    with a 5 s timeout that ends long before it, since no probe waits for its deadline."""
    from podnet.lab.probe import probe

    _, groups, own, nodes = _oslo_probes(lab_name)
    plain = probe(groups, timeout=1.0)
    assert set(plain.values()) == {True, False}
    start = time.monotonic()
    fast = probe(groups, timeout=5.0, sources=own, drop_logs=nodes)
    took = time.monotonic() - start
    assert fast == plain
    assert took < 3.0, f"{took:.2f} s: some probe waited for its 5 s deadline"
    # an address the pod does not hold cannot be bound: its probes are sockets, whose SYNs the
    # drop records name as well
    start = time.monotonic()
    assert probe(groups, timeout=5.0, sources=dict.fromkeys(own, "192.0.2.1"),
                 drop_logs=nodes) == plain
    assert time.monotonic() - start < 3.0


def test_the_pod_probes_in_a_child_process_give_the_same_verdicts(lab_name):
    """`lab probe` runs the pod probes in a forked child (an interpreter lock of its own): the
    verdicts that come back over the pipe are the in-process ones, target for target; a
    failure in the child is a LabError here, and a cancelled child is gone."""
    from podnet.lab.probe import Apart, probe

    _, groups, own, nodes = _oslo_probes(lab_name)
    here = probe(groups, timeout=1.0, sources=own, drop_logs=nodes)
    assert Apart(groups, 1.0, own, nodes).result() == here
    broken = {f"pn-{lab_name}_p_no-such-pod": next(iter(groups.values()))[:1]}
    with pytest.raises(LabError) as e:
        Apart(broken, 1.0).result()
    assert e.value.step == "probe pods" and "no-such-pod" in str(e.value)
    slow = Apart(groups, 30.0)
    slow.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(slow.pid, os.WNOHANG)  # reaped: neither running nor a zombie
    assert not os.path.exists(f"/proc/{slow.pid}")


def test_silence_without_a_drop_record_is_probed_again_the_plain_way(lab_name):
    """A drop no policy rule made (here an extra nft table in one node, dropping one pod's
    8080 without a record) gets neither an answer nor a record: the probe asks again with a
    plain connection, which the same rule drops, so it is denied, after two deadlines."""
    from podnet.lab.probe import probe

    places, groups, own, nodes = _oslo_probes(lab_name)
    dst = next(p for p in places.values()
               if p["netns"] != names.node_netns(lab_name, p["node"]) and (8080, "TCP") in
               {(port, proto) for port, proto in p["ports"]})
    rule = "table inet pntest {\n" + "".join(  # forwarded, and from the node's own pods
        f" chain {hook} {{\n  type filter hook {hook} priority 0; policy accept;\n"
        f"  ip daddr {dst['ip']} tcp dport 8080 drop\n }}\n" for hook in ("forward", "output")) + "}\n"
    subprocess.run(["ip", "netns", "exec", names.node_netns(lab_name, dst["node"]), "nft", "-f",
                    "-"], input=rule, text=True, check=True)
    start = time.monotonic()
    got = probe(groups, timeout=1.0, sources=own, drop_logs=nodes)
    took = time.monotonic() - start
    to_dst = {t: ok for t, ok in got.items() if t.ip == dst["ip"] and t.port == 8080}
    assert to_dst and not any(to_dst.values())
    assert got == probe(groups, timeout=1.0)
    assert took >= 2.0, f"{took:.2f} s: the silent probes were not asked again"
