"""The nginx.conf the lab runs, golden-tested (the lab's tests run it and send real requests)."""

from __future__ import annotations

import pytest

from podnet.ingress import nginx
from podnet.ingress.controllers import find_controllers
from podnet.ingress.routes import build_all
from podnet.model import load
from tests.conftest import EXAMPLES, ROOT
from tests.test_cli import podnet

INPUTS = {"oslo": [EXAMPLES / "oslo"], "oslo-fixed": [EXAMPLES / "oslo", EXAMPLES / "oslo-fixes"],
          "lab-ingress": [ROOT / "tests" / "manifests" / "lab-ingress"]}


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_nginx_conf_golden(golden, case):
    cluster = load([str(p) for p in INPUTS[case]], nodes=2)
    (table,) = build_all(cluster, find_controllers(cluster))
    text = nginx.render(table, nginx.lab_files(table))
    golden(f"ingress/{case}.nginx.conf", text)
    # braces balance and every server listens on both ports
    assert text.count("{") == text.count("}")
    assert text.count("listen 80") == text.count("listen 443 ssl") == len(table.servers)


def test_the_phases_come_in_nginx_order():
    cluster = load([str(p) for p in INPUTS["lab-ingress"]], nodes=2)
    (table,) = build_all(cluster, find_controllers(cluster))
    text = nginx.render(table, nginx.lab_files(table))
    shop = text[text.index("server_name shop.example.com;"):]
    shop = shop[:shop.index("\n\t}\n")]
    root = shop[shop.index('location "/" {'):]
    # the ssl redirect (rewrite phase) before the proxying; the body limit per location
    assert root.index("client_max_body_size 1024;") < root.index("if ($scheme = http)") \
        < root.index("proxy_pass http://shop-web-80;")
    # regex mode: every location of rw.example.com is a case-insensitive regex
    rw = text[text.index("server_name rw.example.com;"):]
    rw = rw[:rw.index("\n\t}\n")]
    assert rw.count("location ~* ") == rw.count("location ") == 3
    # a wildcard host is one label deep, as ingress-nginx writes it
    assert "server_name ~^[\\w-]+\\.wild\\.example\\.com$;" in text


def test_cli_renders_nginx():
    r = podnet("ingress", "-f", str(EXAMPLES / "oslo"), "--render", "nginx")
    assert r.returncode == 0 and "server_name api.coolvds-demo.no;" in r.stdout
    r = podnet("ingress", "-f", str(EXAMPLES / "oslo"), "--render", "nginx", "--controller", "x/y")
    assert r.returncode == 2 and "not one of" in r.stderr


def test_no_endpoint_is_ever_marked_down():
    """ingress-nginx's template (rootfs/etc/nginx/template/nginx.tmpl, ``upstream
    upstream_balancer``) balances in Lua behind one placeholder server, so nginx's passive
    health accounting never takes an endpoint out: a request to a backend NetworkPolicy drops
    times out to 504 every time. oslo's backend-service has two endpoints the controller may
    not reach; with nginx's default max_fails=1 the second request within fail_timeout got
    502 ("no live upstreams") in the lab where podnet predicts 504."""
    cluster = load([str(EXAMPLES / "oslo")], nodes=3)
    (table,) = build_all(cluster, find_controllers(cluster))
    text = nginx.render(table, nginx.lab_files(table))
    servers = [line.strip() for line in text.splitlines()
               if line.startswith("\t\tserver ") and line.rstrip().endswith(";")]
    backend = [s for s in servers if ":8080" in s]
    assert len(backend) >= 2, servers
    assert all(s.endswith(" max_fails=0;") for s in servers), servers
