"""``podnet ingress`` and ``podnet http`` on the command line: the JSON contract, the oslo
example's requests, and bad input as one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import EXAMPLES

OSLO = str(EXAMPLES / "oslo")
KEYS = ["status", "location", "controller", "via", "backend", "reason", "headers", "canary"]


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})


def test_oslo_http_redirects_to_https():
    r = podnet("http", "-f", OSLO, "http://api.coolvds-demo.no/", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == KEYS
    assert data["status"] == 308 and data["location"] == "https://api.coolvds-demo.no"
    assert data["controller"] == "ingress-nginx/ingress-nginx-controller"
    assert data["via"] == {"kind": "Ingress", "name": "production/production-ingress",
                           "host": "api.coolvds-demo.no", "path": "/",
                           "pathType": "ImplementationSpecific"}
    assert data["backend"] is None and data["headers"] is None and data["canary"] is None


def test_oslo_as_the_seeds_wrote_it_never_admits_the_controller():
    # default-deny in production admits only the frontend: nginx's connects time out
    r = podnet("http", "-f", OSLO, "https://api.coolvds-demo.no/api?x=1", "-o", "json")
    data = json.loads(r.stdout)
    assert data["status"] == 504 and "NetworkPolicy" in data["reason"]
    assert data["backend"]["unreachable"] == ["10.244.0.3:8080", "10.244.1.3:8080"]


def test_oslo_https_reaches_the_backend_pods():
    r = podnet("http", "-f", OSLO, "-f", OSLO + "-fixes", "https://api.coolvds-demo.no/api?x=1",
               "-o", "json", "-H", "Accept: */*", "--from", "192.0.2.50")
    data = json.loads(r.stdout)
    assert data["status"] == 200 and data["location"] is None
    assert data["backend"] == {"service": "production/backend-service", "port": 80,
                               "endpoints": ["10.244.0.3:8080", "10.244.1.3:8080"]}
    assert data["headers"]["X-Real-IP"] == "192.0.2.50"
    assert data["headers"]["Accept"] == "*/*"


def test_oslo_media_host_is_forbidden_by_its_cross_namespace_ca():
    r = podnet("http", "-f", OSLO, "https://api.coolvds-client.no/upload", "--client-cert",
               "uploader", "--body-bytes", "40000000", "-o", "json")
    data = json.loads(r.stdout)
    assert data["status"] == 403 and "cross namespace" in data["reason"]


def test_ingress_json_lists_routes_and_ignored_annotations():
    r = podnet("ingress", "-f", OSLO, "-o", "json")
    assert r.returncode == 0, r.stderr
    (ctl,) = json.loads(r.stdout)["controllers"]
    assert ctl["controller"] == "ingress-nginx/ingress-nginx-controller" and ctl["declared"]
    hosts = [s["host"] for s in ctl["servers"]]
    assert hosts == ["_", "api.coolvds-client.no", "api.coolvds-demo.no"]
    demo = ctl["servers"][2]
    assert demo["tls"] == {"secret": "production/tls-secret",
                           "certificate": "the controller's fake certificate",
                           "problem": "Secret production/tls-secret is not in the input"}
    (loc,) = demo["locations"]
    assert loc["location"] == "/" and loc["backend"]["service"] == "production/backend-service"
    ignored = {i["name"]: i["ignoredAnnotations"] for i in ctl["ingresses"]}
    reasons = {a["annotation"]: a["reason"] for a in ignored["production/production-ingress"]}
    assert reasons["ingress.kubernetes.io/ssl-redirect"].startswith("wrong prefix")
    assert "NGINX Inc." in reasons["nginx.org/proxy-buffer-size"]
    media = {a["annotation"]: a["reason"] for a in ignored["production/media-ingress"]}
    assert "not an integer" in media["nginx.ingress.kubernetes.io/proxy-connect-timeout"]
    r = podnet("ingress", "-f", OSLO)
    assert r.returncode == 0 and "api.coolvds-demo.no" in r.stdout
    assert "ignored annotation nginx.org/proxy-buffer-size" in r.stdout


def test_bad_input_is_one_line(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text(textwrap.dedent("""\
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: broken, annotations: {nginx.ingress.kubernetes.io/proxy-body-size: lots}}
        spec:
          ingressClassName: nginx
          rules:
          - host: x.example
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: nowhere, port: {name: web}}}}
        """))
    r = podnet("http", "-f", str(f), "http://x.example/", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == 503 and "Service default/nowhere is not in the input" in data["reason"]
    r = podnet("ingress", "-f", str(f))
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "none: Service default/nowhere is not in the input (503)" in r.stdout
    r = podnet("http", "-f", str(f), "gopher://x/")
    assert r.returncode == 2 and r.stderr.startswith("podnet: error:") and "Traceback" not in r.stderr
    r = podnet("http", "-f", str(f), "http://x.example/", "-H", "no-colon")
    assert r.returncode == 2 and "Name: value" in r.stderr
