"""The KubeProxyConfiguration kubeadm keeps under ``data["config.conf"]`` of ConfigMap
kube-system/kube-proxy: read as a standalone document is read, its errors naming the ConfigMap,
the key and the field, and preferred (with a warning) over a standalone one that disagrees."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from podnet.errors import InputError
from podnet.model import build, read_texts
from podnet.model.kubeproxy import embedded, settings
from tests.test_doctor import METALLB, deploy, one, run
from tests.test_doctor_cli import podnet

# the shape `kubectl -n kube-system get cm kube-proxy -o yaml` shows on a kubeadm cluster
# (kubeadm writes null for what it leaves to kube-proxy's defaults, and mode "")
KUBEADM_CONF = """\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
ipvs:
  excludeCIDRs: null
  scheduler: ""
  strictARP: false
kind: KubeProxyConfiguration
mode: ""
nodePortAddresses: null
"""


def configmap(conf: str, name: str = "kube-proxy", ns: str = "kube-system") -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
            "  labels: {app: kube-proxy}\ndata:\n  config.conf: |-\n"
            + textwrap.indent(conf, "    ")
            + "  kubeconfig.conf: |-\n    apiVersion: v1\n    kind: Config\n---\n")


def standalone(conf: str) -> str:
    return conf + "---\n"


def cluster(text: str):
    return build(read_texts([("t.yaml", text)]))


def kubeadm(**changes: str) -> str:
    """KUBEADM_CONF with top-level or nested lines replaced: {'mode': '"ipvs"'}."""
    conf = KUBEADM_CONF
    for key, value in changes.items():
        head, _, leaf = key.rpartition(".")
        indent = "  " if head else ""
        lines = conf.splitlines()
        i = next(n for n, line in enumerate(lines) if line.startswith(f"{indent}{leaf}:")
                 and (not head or any(p.startswith(f"{head}:") for p in lines[:n])))
        lines[i] = f"{indent}{leaf}: {value}"
        conf = "\n".join(lines) + "\n"
    return conf


@pytest.mark.parametrize("changes", [
    {}, {"mode": '"ipvs"'}, {"mode": "nftables"}, {"ipvs.strictARP": "true"},
    {"conntrack.maxPerCore": "0"}, {"conntrack.min": "524288"},
    {"conntrack.tcpEstablishedTimeout": "2h30m0s"}, {"conntrack.tcpCloseWaitTimeout": "90s"},
    {"clusterCIDR": "10.32.0.0/12"},
])
def test_embedded_reads_as_the_standalone_document(changes):
    conf = kubeadm(**changes)
    alone = cluster(standalone(conf))
    inside = cluster(configmap(conf))
    (a,) = [o for o in alone.configs if o.kind == "KubeProxyConfiguration"]
    (b,) = [o for o in inside.configs if o.kind == "KubeProxyConfiguration"]
    assert settings(a) == settings(b)
    assert b.source.object() == "ConfigMap kube-system/kube-proxy"
    assert (alone.net.proxy_mode, alone.net.cluster_cidr) == (inside.net.proxy_mode,
                                                              inside.net.cluster_cidr)
    assert inside.net.origin["proxy_mode"] == "ConfigMap kube-system/kube-proxy"


def test_kubeadm_defaults():
    kp = settings(embedded(next(o for o in cluster(configmap(KUBEADM_CONF)).configs
                                if o.kind == "ConfigMap")))  # type: ignore[arg-type]
    assert (kp.mode, kp.max_per_core, kp.min, kp.established, kp.close_wait, kp.strict_arp) == (
        "iptables", 32768, 131072, 86400, 3600, False)
    assert kp.cluster_cidr == "10.244.0.0/16"


def test_other_configmaps_are_not_kube_proxy():
    for text in (configmap(kubeadm(mode="ipvs"), ns="default"),
                 configmap(kubeadm(mode="ipvs"), name="kube-proxy-old")):
        c = cluster(text)
        assert c.net.proxy_mode == "iptables"
        assert [o.kind for o in c.configs] == ["ConfigMap"]
    no_key = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: "
              "kube-system}\ndata: {kubeconfig.conf: x}\n")
    assert [o.kind for o in cluster(no_key).configs] == ["ConfigMap"]


@pytest.mark.parametrize(("conf", "field", "match"), [
    (kubeadm(mode="userspace"), "data['config.conf'].mode", "'userspace' is not one of"),
    (kubeadm(**{"conntrack.min": "lots"}), "data['config.conf'].conntrack.min",
     "is not a number"),
    (kubeadm(**{"conntrack.tcpCloseWaitTimeout": "soon"}),
     "data['config.conf'].conntrack.tcpCloseWaitTimeout", "is not a duration"),
    ("mode: [ipvs\n", "data['config.conf']", "invalid YAML at line"),
    ("- mode: ipvs\n", "data['config.conf']", "one KubeProxyConfiguration"),
    ("kind: KubeletConfiguration\n", "data['config.conf'].kind", "is not KubeProxyConfiguration"),
])
def test_errors_name_the_configmap_the_key_and_the_field(conf, field, match):
    with pytest.raises(InputError, match=match) as e:
        # a mode is checked when the model is built; conntrack when doctor reads it
        run(configmap(conf), "conntrack-timeouts")
    assert e.value.field == field
    assert e.value.source.object() == "ConfigMap kube-system/kube-proxy"
    assert e.value.source.file == "test.yaml"


def test_strictarp_in_the_configmap():
    pool = METALLB.format(addresses="192.168.1.240-192.168.1.250")
    f = one(configmap(kubeadm(mode="ipvs")) + pool, "ipvs-metallb-strictarp")
    assert f.object == "ConfigMap kube-system/kube-proxy"
    assert f.field == "data['config.conf'].ipvs.strictARP"
    fixed = configmap(kubeadm(mode="ipvs", **{"ipvs.strictARP": "true"}))
    assert run(fixed + pool, "ipvs-metallb-strictarp") == []
    assert run(configmap(kubeadm()) + pool, "ipvs-metallb-strictarp") == []  # iptables


def test_conntrack_in_the_configmap():
    node = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {capacity: {cpu: '8'}}\n---\n"
    pods = deploy("web", replicas=20)
    # kube-proxy's max(maxPerCore x CPUs, min) (cmd/kube-proxy/app/conntrack_test.go
    # TestGetConntrackMax): maxPerCore 1, min 123456 on 8 CPUs is 123456, under 140,000 entries
    conf = kubeadm(**{"conntrack.maxPerCore": "1", "conntrack.min": "123456"})
    f = one(configmap(conf) + node + pods, "conntrack-sizing", conns_per_pod=7000)
    assert f.evidence["max"] == 123456 and f.severity == "error"
    assert f.field == "data['config.conf'].conntrack.maxPerCore"
    assert run(configmap(kubeadm()) + node + pods, "conntrack-sizing", conns_per_pod=7000) == []
    # kube-proxy's 24h in the ConfigMap: the established info points there
    f = one(configmap(kubeadm()), "conntrack-timeouts")
    assert f.field == "data['config.conf'].conntrack.tcpEstablishedTimeout"


def test_both_present_the_configmap_wins_and_the_model_says_so():
    alone, inside = standalone(kubeadm(mode="iptables")), configmap(kubeadm(mode="ipvs"))
    for text in (alone + inside, inside + alone):
        c = cluster(text)
        assert c.net.proxy_mode == "ipvs"
        (w,) = [w for w in c.warnings if "kube-proxy" in w]
        assert w.startswith("t.yaml (document ") and "ConfigMap kube-system/kube-proxy" in w
        assert "field data['config.conf']" in w and "KubeProxyConfiguration" in w
        assert "mode ('ipvs' against 'iptables')" in w and "podnet reads the ConfigMap's" in w
    # agreeing once defaults are applied ("" is iptables, null is 24h): no warning
    same = standalone("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: "
                      "KubeProxyConfiguration\nmode: iptables\nclusterCIDR: 10.244.0.0/16\n"
                      "conntrack: {tcpEstablishedTimeout: 24h0m0s}\n")
    assert [w for w in cluster(same + configmap(KUBEADM_CONF)).warnings if "kube-proxy" in w] == []


def test_cli_warns_and_points_at_the_configmap(tmp_path: Path):
    f = tmp_path / "cluster.yaml"
    f.write_text(standalone(kubeadm(mode="iptables"))
                 + configmap(kubeadm(mode="ipvs"))
                 + METALLB.format(addresses="192.168.1.240-192.168.1.250"))
    r = podnet("doctor", "-f", str(f), "--check", "ipvs-metallb-strictarp", "-o", "sarif")
    assert r.returncode == 1, r.stderr
    assert "podnet: warning:" in r.stderr and "podnet reads the ConfigMap's" in r.stderr
    (res,) = json.loads(r.stdout)["runs"][0]["results"]
    region = res["locations"][0]["physicalLocation"]["region"]
    lines = f.read_text().splitlines()
    start = region["startLine"] - 1  # the kube-proxy ConfigMap's first line, not MetalLB's
    assert lines[start:start + 4] == ["apiVersion: v1", "kind: ConfigMap", "metadata:",
                                      "  name: kube-proxy"]
