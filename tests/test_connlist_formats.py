"""podnet connlist's formats and focus options, beside the corpus goldens
(tests/test_conformance_cases.py): the corners the goldens do not reach, and bad values."""

from __future__ import annotations

import json

import pytest

from podnet.conformance.cases import invoke
from podnet.model import read_texts
from podnet.policy import focus
from podnet.policy.connlist import INGRESS_PEER, Conn, Peer
from podnet.policy.connlist_formats import csv, dot, json_, md, txt
from podnet.policy.connset import ConnSet
from tests.helpers import pod

A = Peer("x/a[Deployment]", "x", "a", "Deployment")
B = Peer("y/b[StatefulSet]", "y", "b", "StatefulSet")
LONE = Peer("z/lone[Pod]", "z", "lone", "Pod")
WORLD = Peer("0.0.0.0-255.255.255.255[External]", ip=True)
MIXED = ConnSet.port("TCP", 80) | ConnSet.port("UDP", 53)


def conn(src: Peer, dst: Peer, cs: ConnSet = MIXED) -> Conn:
    return Conn(src, dst, cs, str(cs))


CONNS = [conn(A, B), conn(B, WORLD, ConnSet.all()), conn(INGRESS_PEER, A, ConnSet.port("TCP", 8080))]


def test_csv_quotes_a_conn_list_as_go_csv_does():
    assert csv(CONNS).splitlines() == [
        "src,dst,conn", 'x/a[Deployment],y/b[StatefulSet],"TCP 80,UDP 53"',
        "y/b[StatefulSet],0.0.0.0-255.255.255.255[External],All Connections",
        "{ingress-controller},x/a[Deployment],TCP 8080"]


def test_focus_conn_drops_the_conn_column_everywhere():
    assert txt(CONNS[:1], "TCP 80") == ("Permitted connections on TCP 80:\n"
                                        "x/a[Deployment] => y/b[StatefulSet]\n")
    assert md(CONNS[:1], "TCP 80").splitlines()[:2] == ["| src | dst |", "|-----|-----|"]
    assert json.loads(json_(CONNS[:1], "TCP 80")) == [{"src": "x/a[Deployment]", "dst": "y/b[StatefulSet]"}]
    assert csv([], "TCP 80") == "src,dst\n"


def test_json_escapes_html_characters_as_go_does():
    odd = Peer("x/a<b>&[Pod]", "x", "a<b>&", "Pod")
    out = json_([conn(odd, A)])
    assert "\\u003c" in out and "\\u0026" in out and "<" not in out
    assert json.loads(out)[0]["src"] == odd.text
    assert json_([]) == "[]"


def test_dot_groups_by_namespace_and_shows_unconnected_workloads():
    lines = dot(CONNS, [A, B, LONE]).splitlines()
    assert lines[0] == "digraph {" and lines[-1] == "}"
    assert '\tsubgraph "cluster_z[namespace]" {' in lines  # a workload with no connection
    assert '\t"{ingress-controller}" [label="{ingress-controller}" color="blue" fontcolor="blue"]' in lines
    world = [ln for ln in lines if ln.startswith('\t"0.0.0.0')][0]
    assert 'color="red2"' in world
    # edges weigh 0.5 when the source's name sorts first, 1 otherwise
    edge_ab = next(ln for ln in lines if ln.startswith('\t"x/a[Deployment]" ->'))
    edge_bw = next(ln for ln in lines if ln.startswith('\t"y/b[StatefulSet]" ->'))
    assert edge_ab.endswith("weight=0.5]") and edge_bw.endswith("weight=1]")


def test_dash_in_namespace_is_underscore_in_subgraph_name_only():
    p = Peer("my-ns/w[Pod]", "my-ns", "w", "Pod")
    lines = dot([], [p]).splitlines()
    assert '\tsubgraph "cluster_my_ns[namespace]" {' in lines and '\t\tlabel="my-ns[namespace]"' in lines


@pytest.mark.parametrize(("f", "kept"), [
    (focus.Focus(workloads=("a",)), [0, 2]),
    (focus.Focus(workloads=("y/b",)), [0, 1]),
    (focus.Focus(workloads=("a",), direction="egress"), [0]),
    (focus.Focus(workloads=("a",), direction="ingress"), [2]),
    (focus.Focus(workloads=("a",), peers=("ingress-controller",)), [2]),
    (focus.Focus(workloads=("nothing",)), []),
    (focus.Focus(peers=("b",), direction="egress"), [0, 1, 2]),  # both ignored without workloads
])
def test_focus_keeps_pairs_as_netpol_analyzer(f, kept):
    assert focus.apply(f, CONNS) == [CONNS[i] for i in kept]


def test_focus_conn_keeps_pairs_allowing_it_and_reports_it_alone():
    got = focus.apply(focus.Focus(conn=("UDP", 53)), CONNS)
    assert [(c.src, c.dst, c.text) for c in got] == [(A, B, "UDP 53"), (B, WORLD, "UDP 53")]


def test_graph_workloads_are_the_focus_and_its_peers():
    assert focus.graph_workloads(focus.Focus(), [A, B, LONE]) == [A, B, LONE]
    assert focus.graph_workloads(focus.Focus(workloads=("a",)), [A, B, LONE]) == [A]
    assert focus.graph_workloads(focus.Focus(workloads=("a",), peers=("z/lone",)), [A, B, LONE]) == [A, LONE]


@pytest.fixture
def manifests(tmp_path):
    (tmp_path / "pods.yaml").write_text(pod("x", "a", {"app": "a"}) + pod("y", "b", {"app": "b"}))
    return str(tmp_path)


# pkg/cli/command_test.go (netpol-analyzer), TestCommandsFailExecute:
# list_command_with_unsupported_focus_direction_should_return_error,
# list_command_with_invalid_focus_connection_format_return_error,
# list_command_with_invalid_focus_connection_protocol_return_error.
@pytest.mark.parametrize(("args", "says"), [
    (["--focus-workload", "a", "--focus-direction", "xgress"], "choose one of ingress, egress"),
    (["--focus-conn", "udp90"], "must be <protocol-port>"),
    (["--focus-conn", "ucp-90"], "unknown protocol"),
    (["--focus-conn", "tcp-0"], "from 1 to 65535"),
    (["--focus-conn", "tcp-65536"], "from 1 to 65535"),
    (["--focus-conn", "tcp-8o"], "from 1 to 65535"),
    (["-o", "svg"], "choose one of txt, json, csv, md, dot"),
])
def test_bad_focus_values_are_usage_errors(manifests, args, says):
    code, out, err = invoke(("connlist", "-f", manifests, *args))
    assert code == 2 and out == ""
    assert says in err and "Traceback" not in err


def test_focus_conn_accepts_any_case(manifests):
    code, out, err = invoke(("connlist", "-f", manifests, "--focus-conn", "Tcp-80"))
    assert code == 0, err
    world = "0.0.0.0-255.255.255.255[External]"  # no policy: the world reaches both ways
    assert out.splitlines() == ["Permitted connections on TCP 80:", f"{world} => x/a[Pod]",
                                f"{world} => y/b[Pod]", f"x/a[Pod] => {world}",
                                "x/a[Pod] => y/b[Pod]", f"y/b[Pod] => {world}", "y/b[Pod] => x/a[Pod]"]


def test_missing_focus_workload_warns_and_lists_nothing(manifests):
    code, out, err = invoke(("connlist", "-f", manifests, "--focus-workload", "ghost"))
    assert code == 0 and out == ""
    assert "focus workload ghost does not exist" in err


BROKEN = pod("x", "a", {"app": "a"}) + pod("x", "b", {"app": "b"}) + "kind: [\n"


def test_keep_prefix_keeps_the_documents_before_a_broken_one():
    docs = read_texts([("d/m.yaml", BROKEN)], lenient=["d/m.yaml"], keep_prefix=True)
    assert [d.body["metadata"]["name"] for d in docs] == ["a", "b"]
    assert "skipped the rest of d/m.yaml (document 3)" in docs.warnings[0]


def test_without_keep_prefix_a_broken_walked_file_is_skipped_whole():
    docs = read_texts([("d/m.yaml", BROKEN)], lenient=["d/m.yaml"])
    assert list(docs) == [] and docs.warnings[0].startswith("skipped d/m.yaml")


def test_a_broken_file_named_explicitly_is_still_an_error(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text(BROKEN)
    code, out, err = invoke(("connlist", "-f", str(f)))
    assert code == 2 and "invalid YAML" in err and out == ""


def test_the_cli_offers_exactly_the_formats_rendered():
    from podnet.model.vocabulary import CONNLIST_FORMATS
    from podnet.policy.connlist_formats import _TABLES
    assert set(CONNLIST_FORMATS) == {*_TABLES, "dot"}
