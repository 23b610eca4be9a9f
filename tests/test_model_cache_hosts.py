"""The model cache's per-host view (modelcache.get with hosts): `podnet http` reads only the
Ingresses that shape the request's servers, and its answer is the one the whole model gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podnet.cli import modelcache
from podnet.cli.app import app
from podnet.ingress import report as rep
from podnet.ingress.controllers import find_controllers
from podnet.ingress.routes import build_all, hosts_for
from podnet.model.cluster import build
from podnet.model.ingress_hosts import shaped_hosts
from podnet.model.load import read_paths

HOSTS = ("a.example.com", "b.example.com", "x.example.com", "e.example.com", "other.test", "A.EXAMPLE.COM")


def _ingress(name: str, spec: str, annotations: str = "{}") -> str:
    return (f"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, "
            f"namespace: web, annotations: {annotations}}}\nspec: {spec}\n")


def _backend(svc: str) -> str:
    return f"{{service: {{name: {svc}, port: {{number: 80}}}}}}"


INPUT = (
    "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx, annotations: "
    "{ingressclass.kubernetes.io/is-default-class: 'true'}}\nspec: {controller: k8s.io/ingress-nginx}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: s1, namespace: web}\n"
    "spec: {ports: [{port: 80}]}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: s2, namespace: web}\n"
    "spec: {ports: [{port: 80}]}\n"
    + _ingress("a", f"{{rules: [{{host: a.example.com, http: {{paths: [{{path: /a, pathType: "
               f"Prefix, backend: {_backend('s1')}}}]}}}}]}}")
    + _ingress("a2", f"{{rules: [{{host: A.Example.COM, http: {{paths: [{{path: /b, pathType: "
               f"Exact, backend: {_backend('s2')}}}]}}}}]}}")
    + _ingress("wild", f"{{rules: [{{host: '*.example.com', http: {{paths: [{{path: /, pathType: "
               f"Prefix, backend: {_backend('s2')}}}]}}}}]}}")
    + _ingress("nohost", f"{{rules: [{{http: {{paths: [{{path: /n, pathType: Prefix, backend: "
               f"{_backend('s1')}}}]}}}}]}}")
    + _ingress("catchall", f"{{defaultBackend: {_backend('s2')}}}")
    + _ingress("alias", f"{{rules: [{{host: e.example.com, http: {{paths: [{{path: /e, pathType: "
               f"Prefix, backend: {_backend('s1')}}}]}}}}]}}",
               "{nginx.ingress.kubernetes.io/server-alias: 'b.example.com, z.example.com'}")
    + _ingress("zlast", f"{{rules: [{{host: z.example.com, http: {{paths: [{{path: /z, pathType: "
               f"Prefix, backend: {_backend('s1')}}}]}}}}]}}"))


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PODNET_NO_CACHE", raising=False)
    f = tmp_path / "in.yaml"
    f.write_text(INPUT)
    key = "k" * 64
    modelcache.put(key, build(read_paths([str(f)]), nodes=2))
    return f, key


@pytest.mark.parametrize("host", HOSTS)
def test_view_holds_every_ingress_that_shapes_the_host_and_routes_alike(cached, host):
    f, key = cached
    full = modelcache.get(key)
    view = modelcache.get(key, hosts_for(host))
    assert full is not None and view is not None
    assert full == build(read_paths([str(f)]), nodes=2)  # the whole model comes back whole
    hosts = hosts_for(host)
    shaping = {i.name for i in full.ingresses
               if (s := shaped_hosts(i)) is None or not s.isdisjoint(hosts)}
    got = {i.name for i in view.ingresses}
    assert shaping <= got <= shaping | {full.ingresses[0].name}
    assert [i.name for i in view.ingresses] == [i.name for i in full.ingresses if i.name in got]
    tables = [rep.table(t) for t in build_all(full, find_controllers(full), hosts)]
    assert [rep.table(t) for t in build_all(view, find_controllers(view), hosts)] == tables


def test_a_view_with_no_ingress_of_its_host_still_has_the_input_s_ingresses(cached):
    # the stand-in controller exists because the input has Ingresses: the view keeps one
    _, key = cached
    view = modelcache.get(key, hosts_for("nothing.invalid"))
    assert view is not None and view.ingresses and find_controllers(view)


@pytest.mark.parametrize("url", [f"https://{h}/a" for h in HOSTS] + ["http://z.example.com/z"])
def test_http_from_the_cache_answers_as_without_it(tmp_path, monkeypatch, url):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    f = tmp_path / "in.yaml"
    f.write_text(INPUT)
    run = CliRunner().invoke
    fresh = run(app, ["--no-cache", "http", "-f", str(f), url, "-o", "json"])
    run(app, ["http", "-f", str(f), "https://a.example.com/", "-o", "json"])  # fills the cache
    warm = run(app, ["http", "-f", str(f), url, "-o", "json"])
    assert fresh.exit_code == warm.exit_code == 0, fresh.output
    assert json.loads(warm.stdout) == json.loads(fresh.stdout)
