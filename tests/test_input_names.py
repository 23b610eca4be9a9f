"""Names from the input are checked as the API server checks them, at parse time
(k8s.io/apimachinery/pkg/util/validation: IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label;
pkg/apis/core/validation ValidateServiceName, ValidateNamespaceName, ValidateNodeName;
pkg/apis/rbac/validation ValidateRBACName): nothing with a '/' or a newline reaches a ruleset,
a namespace name or a path."""

from __future__ import annotations

import pytest

from podnet.errors import InputError
from podnet.model import build, read_texts
from tests.test_cli import podnet


def parse(text: str):  # type: ignore[no-untyped-def]
    return build(read_texts([("in.yaml", text)]), nodes=2)


SVC = ("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n"
       "spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}\n")


@pytest.mark.parametrize("text, field", [
    (SVC.format(name='"web\\n-A KUBE-SERVICES -j DROP"'), "metadata.name"),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a/b}\n", "metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a/b}\nspec: {containers: []}\n",
     "metadata.namespace"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: ../../etc}\nspec: {containers: []}\n",
     "metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n/x, containers: []}\n",
     "spec.nodeName"),
    ("apiVersion: v1\nkind: Node\nmetadata: {name: " + "n" * 254 + "}\n", "metadata.name"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: \"a\\tb\"}\n"
     "spec: {podSelector: {}}\n", "metadata.name"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: \"a/b\"}\n",
     "metadata.name"),
])
def test_names_the_api_server_refuses_are_input_errors(text, field):
    with pytest.raises(InputError) as e:
        parse(text)
    assert e.value.field == field
    assert "\n" not in str(e.value) and "in.yaml" in str(e.value)


def test_names_the_api_server_accepts_are_read():
    c = parse(SVC.format(name="web") + "---\n"
              "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
              "metadata: {name: 'system:aggregate-to-edit'}\n---\n"
              "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-, namespace: default}\n"
              "spec: {nodeName: node-1.example.com, containers: []}\n---\n"
              "apiVersion: v1\nkind: Node\nmetadata: {name: node-1.example.com}\n")
    assert [s.name for s in c.services if s.namespace != "default" or s.name != "kubernetes"
            ] == ["web"]
    assert [n.name for n in c.nodes] == ["node-1.example.com"]


@pytest.mark.parametrize("name", ["1web", "web.v2", "Web"])
def test_invalid_but_harmless_names_are_read_with_a_warning(name):
    # netpol-analyzer's corpus names policies with underscores; a Service name must be a
    # DNS-1035 label, which these are not, but none can break out of a rule or a path
    c = parse(SVC.format(name=name))
    assert name in [s.name for s in c.services]
    assert any("metadata.name" in w and "would refuse" in w for w in c.warnings)


def test_a_newline_never_reaches_the_rendered_rules():
    r = podnet("services", "-f", "-", "--render", "iptables",
               stdin=SVC.format(name='"web\\n-A KUBE-SERVICES -j DROP"'))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "-j DROP" not in r.stdout and "metadata.name" in r.stderr
    assert r.stderr.count("\n") == 1  # one line, the name shown escaped
