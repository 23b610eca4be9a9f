"""doctor's Ingress checks: each trips on a manifest that deserves it and not on one that
does not."""

from __future__ import annotations

from podnet.doctor import diagnose
from podnet.model import build, read_paths
from tests.conftest import EXAMPLES, ROOT

OSLO, FIXES = str(EXAMPLES / "oslo"), str(EXAMPLES / "oslo-fixes")
SCENARIO = str(ROOT / "tests" / "manifests" / "lab-ingress")


def found(paths: list[str], check: str):  # type: ignore[no-untyped-def]
    docs = read_paths(paths)
    return diagnose(build(docs, nodes=2), docs, only=[check])


def test_the_seeds_never_admit_the_controller_and_the_fix_does():
    (f,) = found([OSLO], "ingress-controller-not-admitted")
    assert f.severity == "error" and f.object == "Ingress production/production-ingress"
    assert f.evidence["blocked"] == ["10.244.0.3:8080", "10.244.1.3:8080"]
    assert "504" in f.message and "kind: NetworkPolicy" in f.fix
    assert "kubernetes.io/metadata.name: ingress-nginx" in f.fix
    assert found([OSLO, FIXES], "ingress-controller-not-admitted") == []
    # the server that answers 403 to everything never connects: no finding for it
    assert "media-ingress" not in f.object


def test_the_scenarios_vault_keeps_the_controller_out():
    (f,) = found([SCENARIO], "ingress-controller-not-admitted")
    assert f.evidence["service"] == "shop/vault" and f.severity == "error"


def test_ignored_annotations_say_why():
    got = {(f.evidence["annotation"], f.message.rsplit(": ", 1)[-1][:30])
           for f in found([OSLO], "ingress-annotation-ignored")}
    keys = {k for k, _ in got}
    assert {"nginx.org/proxy-buffer-size", "ingress.kubernetes.io/ssl-redirect",
            "nginx.ingress.kubernetes.io/proxy-connect-timeout"} <= keys
    assert found([SCENARIO], "ingress-annotation-ignored") == []


def test_missing_backends():
    by_service = {f.evidence["service"]: f for f in found([SCENARIO], "ingress-backend-missing")}
    assert by_service["shop/nope"].severity == "error" and "503" in by_service["shop/nope"].message
    assert by_service["shop/empty"].severity == "warning"
    assert found([OSLO], "ingress-backend-missing") == []
