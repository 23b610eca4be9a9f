"""The lab plan is pure: golden-tested without root."""

import subprocess
import sys

from tests.conftest import EXAMPLES


def test_dry_run_plan_golden(golden):
    r = subprocess.run([sys.executable, "-m", "podnet", "lab", "up", "-f", str(EXAMPLES / "oslo"),
                        "--name", "demo", "--cni", "host-gw", "--dry-run"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    golden("lab/oslo-host-gw.plan", r.stdout)


def test_bad_lab_name_is_a_clear_error():
    r = subprocess.run([sys.executable, "-m", "podnet", "lab", "up", "-f", str(EXAMPLES / "oslo"),
                        "--name", "Bad_Name", "--dry-run"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "lab name" in r.stderr and "Traceback" not in r.stderr


def test_plan_loads_the_chosen_proxy_and_attracts_lb_ips():
    from podnet.lab.plan import build_plan
    from podnet.lab.steps import LoadIptables, LoadRules
    from podnet.model import load
    from tests.conftest import ROOT

    cluster = load([str(ROOT / "tests" / "manifests" / "lab-services")], nodes=2)
    nft = build_plan(cluster, "x", "vxlan", "nftables")
    kp = [s for s in nft.steps if isinstance(s, LoadRules) and s.what == "kube-proxy nftables"]
    assert len(kp) == 2 and kp[0].text.startswith("add table ip kube-proxy")
    assert not any(isinstance(s, LoadIptables) for s in nft.steps)
    ipt = build_plan(cluster, "x", "vxlan", None)  # no KubeProxyConfiguration: iptables
    assert ipt.proxy == "iptables" and ipt.notes == ()
    # externalTrafficPolicy Local: only the node with the api pod may announce its LB IP
    api_ip = cluster.node(cluster.pod("shop/api-0").node).internal_ip
    assert f"[pn-x_external] route add 192.0.2.81/32 via {api_ip} dev eth0" in nft.text()


def test_lab_proxy_default_follows_the_config_or_says_why_not():
    from podnet.lab.plan import build_plan
    from podnet.model import load

    plan = build_plan(load([str(EXAMPLES / "oslo")]), "x", "vxlan")
    assert plan.proxy == "iptables" and "mode ipvs" in plan.notes[0]
    r = subprocess.run([sys.executable, "-m", "podnet", "lab", "up", "-f", str(EXAMPLES / "oslo"),
                        "--name", "x", "--proxy", "ipvs", "--dry-run"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "CONFIG_IP_VS" in r.stderr


def test_metallb_leader_is_stable_and_respects_local_policy():
    from podnet.model import load
    from podnet.services import resolve
    from podnet.services.metallb import announcer, l2_leader
    from tests.conftest import ROOT

    assert l2_leader("192.0.2.1", ["a", "b", "c"]) == l2_leader("192.0.2.1", ["c", "b", "a"])
    assert l2_leader("192.0.2.1", []) is None
    cluster = load([str(ROOT / "tests" / "manifests" / "lab-services")], nodes=2)
    api = next(p for p in resolve(cluster) if p.key == "shop/api:api")
    nodes = [n.name for n in cluster.nodes]
    assert announcer(api, "192.0.2.81", nodes) == cluster.pod("shop/api-0").node


def test_plan_runs_an_api_server_stand_in_on_the_control_plane():
    """default/kubernetes's endpoint is oslo-1:6443 (the control-plane node); the lab serves
    that port in oslo-1's namespace, apart from the pods (lab up still counts 13 pods)."""
    from podnet.lab.plan import build_plan
    from podnet.model import load

    plan = build_plan(load([str(EXAMPLES / "oslo")]), "x", "host-gw")
    assert [(p.key, p.netns, p.ip, p.ports) for p in plan.listeners] == [
        ("kube-apiserver@oslo-1", "pn-x_n_oslo-1", "10.0.0.1", ((6443, "TCP"),))]
    assert len(plan.pods) == 13 and not any(p.key.startswith("kube-apiserver") for p in plan.pods)


def test_lab_loads_iptables_rules_without_nfacct_counters():
    """The lab loads kube-proxy's rules for real: nfacct matches name accounting objects that
    only kube-proxy creates (iptables-restore fails without them), so the lab renders for a
    node without nfacct, with --random-fully."""
    from podnet.lab.plan import build_plan
    from podnet.lab.steps import LoadIptables
    from podnet.model import load
    from tests.conftest import ROOT

    cluster = load([str(ROOT / "tests" / "manifests" / "lab-services")], nodes=2)
    texts = [s.text for s in build_plan(cluster, "x", "vxlan", "iptables").steps
             if isinstance(s, LoadIptables)]
    assert texts and not any("nfacct" in t for t in texts)
    assert any("-j MASQUERADE --random-fully" in t for t in texts)


def test_the_namespaces_begun_before_the_plan_are_the_plans():
    """`lab up` starts making ``layout.namespaces`` while the plan is built, and the plan's own
    namespace steps are then skipped: the two lists must be the same, in every CNI mode, for
    clusters with hostNetwork pods, ingress controllers, Gateways and DNS."""
    from podnet.lab.layout import namespaces
    from podnet.lab.plan import build_plan
    from podnet.lab.steps import AddNetns
    from podnet.model import load
    from tests.conftest import ROOT

    inputs = [EXAMPLES / "oslo", *(ROOT / "tests" / "manifests" / m for m in (
        "lab-basic", "lab-services", "lab-ingress", "lab-gateway", "lab-admin"))]
    for path in inputs:
        cluster = load([str(path)], nodes=2)
        assert any(p.host_network for p in cluster.pods) or path.name != "oslo"
        for cni in ("host-gw", "vxlan", "bgp"):
            plan = build_plan(cluster, "x", cni)
            made = [s.name for s in plan.steps if isinstance(s, AddNetns)]
            assert namespaces(cluster, "x") == made, (path.name, cni)
