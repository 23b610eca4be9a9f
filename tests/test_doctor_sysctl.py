"""``podnet doctor --sysctl FILE``: a node's sysctls (``sysctl -a`` output or sysctl.conf) read
as sysctl(8) and sysctl.d(5) describe them, and the conntrack checks judging advice against the
node's own values instead of the kernel's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podnet.doctor.sysctls import parse_sysctls
from podnet.errors import InputError
from tests.test_doctor import SEED_SYSCTL, deploy, one, run, sysctl
from tests.test_doctor_cli import podnet

SYSCTL_A = """\
kernel.core_pattern = |/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E
net.ipv4.ip_local_port_range = 32768\t60999
net.netfilter.nf_conntrack_buckets = 262144
net.netfilter.nf_conntrack_count = 412
net.netfilter.nf_conntrack_max = 262144
net.netfilter.nf_conntrack_tcp_timeout_close_wait = 3600
net.netfilter.nf_conntrack_tcp_timeout_established = 86400
net.nf_conntrack_max = 262144
"""


def node(text: str, name: str = "node1.sysctl"):
    return parse_sysctls([(name, text)])


def test_reads_sysctl_a_and_skips_unknown_keys():
    values = node(SYSCTL_A).values
    assert {k: v.value for k, v in values.items()} == {
        "nf_conntrack_buckets": 262144, "nf_conntrack_max": 262144,
        "nf_conntrack_tcp_timeout_close_wait": 3600,
        "nf_conntrack_tcp_timeout_established": 86400}
    # the old name of the same counter came last, so its line is the one in force
    assert values["nf_conntrack_max"].where == "node1.sysctl:8"


def test_reads_sysctl_conf_and_later_files_win():
    conf = ("# /etc/sysctl.d/99-k8s.conf\n; another comment\n\n"
            "net.netfilter.nf_conntrack_max=1048576\n"
            "-net/netfilter/nf_conntrack_tcp_timeout_close_wait = 60\n"
            "net.ipv4.conf.*.rp_filter = 2\n")
    got = parse_sysctls([("a.conf", SYSCTL_A), ("b.conf", conf)])
    assert got.get("nf_conntrack_max").value == 1048576  # type: ignore[union-attr]
    assert got.get("nf_conntrack_max").where == "b.conf:4"  # type: ignore[union-attr]
    assert got.get("nf_conntrack_tcp_timeout_close_wait").value == 60  # type: ignore[union-attr]
    assert got.get("nf_conntrack_buckets").where == "a.conf:3"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "line", "match"), [
    ("net.netfilter.nf_conntrack_max = 1\nnet.netfilter.nf_conntrack_max 2\n", 2,
     "is not a sysctl setting"),
    ("sysctl: permission denied on key 'fs.protected_regular', ignoring\n", 1,
     "is not a sysctl setting"),
    ("= 5\n", 1, "is not a sysctl setting"),
    ("\n\nnet.netfilter.nf_conntrack_max = lots\n", 3, "'lots' is not a whole number"),
    ("net.netfilter.nf_conntrack_tcp_timeout_established = -1\n", 1, "not a whole number"),
])
def test_malformed_lines_name_file_and_line(text, line, match):
    with pytest.raises(InputError, match=match) as e:
        node(text, "n.conf")
    assert e.value.source.file == "n.conf" and f"line {line}:" in str(e.value)


# -- conntrack-timeouts against the node ------------------------------------------------------

CLOSE_WAIT = "# Reduce timeout\nnet.netfilter.nf_conntrack_tcp_timeout_close_wait = 3600\n"


def advice(**kw: object) -> list:
    """The conntrack-timeouts findings about the advice's line (not kube-proxy's own)."""
    return [f for f in run(sysctl(CLOSE_WAIT), "conntrack-timeouts", **kw)
            if f.field == "data.sysctl.conf"]


def test_reduce_that_raises_compares_with_the_node():
    # no node: the kernel's 60 s default makes 3600 a 60-fold raise (tests/test_doctor.py)
    (f,) = advice()
    assert f.severity == "warning" and "raises it 60-fold" in f.message
    # the node already holds 7200: 3600 does reduce it, no warning
    found = advice(node_sysctls=node("net.netfilter.nf_conntrack_tcp_timeout_close_wait = 7200\n"))
    assert [f.severity for f in found] == ["info"]
    assert "raises" not in found[0].message and found[0].evidence["node"] == 7200
    # the node holds 600: 3600 raises it 6-fold, and the message says whose value it was
    (f,) = advice(node_sysctls=node("net.netfilter.nf_conntrack_tcp_timeout_close_wait = 600\n"))
    assert f.severity == "warning" and "the node has 600 s (node1.sysctl:1)" in f.message
    assert "raises it 6-fold" in f.message and f.evidence["nodeFrom"] == "node1.sysctl:1"


def test_established_info_follows_the_node():
    # kube-proxy's 24h does not shorten the kernel's 5 days: unless the node already has 24h
    f = one(deploy("web"), "conntrack-timeouts")
    assert f.evidence["effective"] == 432000
    at_24h = node("net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n")
    assert run(deploy("web"), "conntrack-timeouts", node_sysctls=at_24h) == []
    longer = node("net.netfilter.nf_conntrack_tcp_timeout_established = 172800\n")
    f = one(deploy("web"), "conntrack-timeouts", node_sysctls=longer)
    assert f.evidence["effective"] == 172800 and "the node's 2 days" in f.message


# -- conntrack-sizing against the node --------------------------------------------------------

NODE = ("apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\n"
        "status: {{capacity: {{cpu: '{cpu}'}}}}\n---\n")


def test_increase_advice_against_the_nodes_table():
    # without a node: kube-proxy already sets 131072 (tests/test_doctor.py)
    f = one(sysctl(SEED_SYSCTL), "conntrack-sizing")
    assert "kube-proxy already sets" in f.message
    big = node("net.netfilter.nf_conntrack_max = 262144\n")
    f = one(sysctl(SEED_SYSCTL), "conntrack-sizing", node_sysctls=big)
    assert f.severity == "warning" and "the node has nf_conntrack_max 262,144" in f.message
    assert "lowers it to 131,072" in f.message and f.evidence["node"] == 262144
    # a node below it: the "increase" is one, nothing to say
    small = node("net.netfilter.nf_conntrack_max = 65536\n")
    assert run(sysctl(SEED_SYSCTL), "conntrack-sizing", node_sysctls=small) == []


def test_fill_uses_the_nodes_table():
    pods = deploy("web", replicas=20)
    # 20 pods x 7000 = 140,000 entries: an 8-CPU node under kube-proxy would have 262,144 ...
    assert run(NODE.format(cpu=8) + pods, "conntrack-sizing", conns_per_pod=7000) == []
    # ... but this node has 131,072: full
    f = one(NODE.format(cpu=8) + pods, "conntrack-sizing", conns_per_pod=7000,
            node_sysctls=node("net.netfilter.nf_conntrack_max = 131072\n"))
    assert f.severity == "error" and f.evidence["max"] == 131072
    assert f.evidence["maxFrom"] == "node1.sysctl:1" and f.file == "node1.sysctl"
    assert "nf_conntrack_max = 196608" in f.fix  # 140,000 / 0.75 in steps of 65,536
    roomy = node("net.netfilter.nf_conntrack_max = 1048576\n")
    assert run(NODE.format(cpu=1) + pods, "conntrack-sizing", conns_per_pod=7000,
               node_sysctls=roomy) == []


def test_buckets_of_a_table_raised_without_them():
    raised = node("net.netfilter.nf_conntrack_max = 1048576\n"
                  "net.netfilter.nf_conntrack_buckets = 16384\n")
    f = one(deploy("web"), "conntrack-sizing", node_sysctls=raised)
    assert f.severity == "warning" and f.field == "net.netfilter.nf_conntrack_buckets"
    assert f.evidence["entriesPerBucketWhenFull"] == 64 and "hashsize" in f.fix
    assert "echo 262144 >" in f.fix
    # kube-proxy's quarter (4 a chain), and the kernel's own 1:1 since Linux 5.15: fine
    for buckets in (262144, 1048576):
        sized = node(f"net.netfilter.nf_conntrack_max = 1048576\n"
                     f"net.netfilter.nf_conntrack_buckets = {buckets}\n")
        assert run(deploy("web"), "conntrack-sizing", node_sysctls=sized) == []


def test_cli_sysctl(tmp_path: Path):
    a, b = tmp_path / "sysctl-a.txt", tmp_path / "99-k8s.conf"
    a.write_text(SYSCTL_A)
    b.write_text("net.netfilter.nf_conntrack_tcp_timeout_close_wait=600\n")
    cfg = tmp_path / "tuning.yaml"
    cfg.write_text(sysctl(CLOSE_WAIT))
    r = podnet("doctor", "-f", str(cfg), "--sysctl", str(a), "--sysctl", str(b),
               "--check", "conntrack-timeouts", "-o", "json", "--fail-on", "warning")
    assert r.returncode == 1, r.stderr
    (f,) = [f for f in json.loads(r.stdout)["findings"] if f["severity"] == "warning"]
    assert f["evidence"]["nodeFrom"] == f"{b}:1" and "6-fold" in f["message"]
    r = podnet("doctor", "-f", str(cfg), "--sysctl", str(a),
               "--check", "conntrack-timeouts", "-o", "json", "--fail-on", "warning")
    assert r.returncode == 0, r.stdout  # the node's 3600: the line changes nothing
    b.write_text("net.netfilter.nf_conntrack_max: 5\n")
    r = podnet("doctor", "-f", str(cfg), "--sysctl", str(b))
    assert r.returncode == 2 and f"{b}" in r.stderr and "line 1:" in r.stderr
    assert "Traceback" not in r.stderr
