"""One vocabulary: every list of valid values lives in podnet/model/vocabulary.py, and the
command line checks its options against it (a clear error listing the values, never a traceback)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

import podnet
from podnet.dataplane.mtu import ENCAPSULATION, OVERHEAD
from podnet.model import vocabulary as v
from tests.conftest import EXAMPLES, ROOT

OSLO = str(EXAMPLES / "oslo")
WORDS = [set(getattr(v, n)) for n in dir(v) if n.isupper()]


def _literals_of_vocabulary(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Tuple, list and set literals that spell out a whole vocabulary again (a subset is a
    branch on some values, as ``mode in ("ipip", "wireguard")``, and stays)."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set) or len(node.elts) < 2:
            continue
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(values) == len(node.elts) and all(isinstance(x, str) for x in values) \
                and any(set(values) == w for w in WORDS):
            out.append((node.lineno, values))
    return out


def test_valid_values_are_written_only_in_the_vocabulary():
    pkg = ROOT / "podnet"
    offenders = [f"{f.relative_to(ROOT)}:{line} {values}"
                 for f in sorted(pkg.rglob("*.py")) if f.name != "vocabulary.py"
                 for line, values in _literals_of_vocabulary(ast.parse(f.read_text()))]
    assert offenders == []


def test_per_mode_tables_cover_the_vocabulary():
    assert set(OVERHEAD) == set(ENCAPSULATION) == set(v.CNI_MODES)
    assert set(v.LAB_CNI_MODES) < set(v.CNI_MODES)
    assert set(v.LAB_PROXY_MODES) < set(v.PROXY_MODES)


def podnet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args,flag,allowed", [
    (["analyze", "-f", OSLO, "--cni", "foo"], "--cni", v.CNI_MODES),
    (["trace", "-f", OSLO, "--cni", "foo", "--from", "production/frontend-0",
      "--to", "production/backend-0:8080/TCP"], "--cni", v.CNI_MODES),
    (["trace", "-f", OSLO, "--proxy", "foo", "--from", "production/frontend-0",
      "--to", "production/backend-0:8080/TCP"], "--proxy", v.PROXY_MODES),
    (["services", "-f", OSLO, "--render", "foo"], "--render", v.PROXY_MODES),
    (["dns", "-f", OSLO, "--pod", "default/optimization-test", "--libc", "foo", "x"], "--libc",
     v.LIBCS),
    (["lab", "up", "-f", OSLO, "--name", "t", "--cni", "foo", "--dry-run"], "--cni", v.CNI_MODES),
    (["lab", "up", "-f", OSLO, "--name", "t", "--proxy", "foo", "--dry-run"], "--proxy",
     v.PROXY_MODES),
])
def test_a_bad_option_value_lists_the_valid_ones(args, flag, allowed):
    r = podnet_cli(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr == f"podnet: error: {flag} foo: choose one of {', '.join(allowed)}\n"


def test_help_lists_the_vocabulary():
    r = podnet_cli("analyze", "--help")
    assert "|".join(v.CNI_MODES) in r.stdout


def test_vocabulary_is_the_model_s():
    # the model's own checks use the same lists: a KubeProxyConfiguration mode outside them
    from tests.helpers import cluster_of

    with pytest.raises(podnet.errors.InputError) as e:
        cluster_of("""
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            kind: KubeProxyConfiguration
            mode: userspace
            """)
    assert ", ".join(v.PROXY_MODES) in str(e.value)
