"""One request's outcome: every status podnet predicts, the headers the backend sees, and bad
input that must become a route with a reason, never a traceback."""

from __future__ import annotations

import pytest
from ingress_kit import controller, http, ingress, table, tls_secret

from podnet.errors import UsageError
from podnet.ingress.request import request

P = "nginx.ingress.kubernetes.io/"


def test_200_names_service_port_and_endpoints():
    o = http(table(ingress("a")), "http://foo.bar/")
    assert o.status == 200 and o.backend is not None
    assert (o.backend.service, o.backend.service_port) == ("default/echo", 80)
    assert len(o.backend.endpoints) == 1 and o.backend.endpoints[0].endswith(":8080")
    assert o.via == {"kind": "Ingress", "name": "default/a", "host": "foo.bar", "path": "/",
                     "pathType": "Prefix"}


def test_308_when_tls_is_configured_even_with_the_fake_certificate():
    t = table(ingress("a", tls="absent"))
    o = http(t, "http://foo.bar/")
    assert (o.status, o.location) == (308, "https://foo.bar")
    assert "fake certificate" in o.reason
    tls = t.servers["foo.bar"].tls
    assert tls is not None and tls.problem == "Secret default/absent is not in the input"


@pytest.mark.parametrize(("secret", "problem"), [
    (tls_secret("cert", kind="Opaque", keys=("tls.crt",)), "(type Opaque) has no tls.key"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: cert}\ndata: {tls.crt: bm90IGEgY2VydA==, "
     "tls.key: eA==}\n---\n", "tls.crt holds no PEM certificate"),
    (tls_secret("cert"), ""),
])
def test_tls_secret_problems(secret, problem):  # type: ignore[no-untyped-def]
    t = table(ingress("a", tls="cert"), secret)
    tls = t.servers["foo.bar"].tls
    assert tls is not None and problem in tls.problem and bool(tls.problem) == bool(problem)
    assert http(t, "http://foo.bar/").status == 308


def test_redirect_code_from_the_configmap():
    t = table(ingress("a", tls="cert"), tls_secret("cert"),
              controller("--configmap=ingress-nginx/c", name="c",
                         config={"http-redirect-code": "301"}))
    assert http(t, "http://foo.bar/").status == 301


def test_tls_settings_ports_and_forwarded_host_in_redirects():
    # test/e2e/settings/tls.go: "should not use ports during the HTTP to HTTPS redirection"
    t = table(ingress("a", tls="cert"), tls_secret("cert"))
    assert http(t, "http://foo.bar:8080/").location == "https://foo.bar"
    # "should not use ports or X-Forwarded-Host during the HTTP to HTTPS redirection"
    # (use-forwarded-headers: the first X-Forwarded-Host, without its port)
    t = table(ingress("a", tls="cert"), tls_secret("cert"),
              controller("--configmap=ingress-nginx/c", name="c",
                         config={"use-forwarded-headers": "true"}))
    o = http(t, "http://foo.bar/", headers={"X-Forwarded-Host": "example.com:80"})
    assert o.location == "https://example.com"
    # a TLS-terminating proxy in front that says https: no redirect
    assert http(t, "http://foo.bar/", headers={"X-Forwarded-Proto": "https"}).status == 200


def test_400_403_404_413_503():
    anns = {P + "auth-tls-secret": "default/ca"}
    t = table(ingress("a", annotations=anns), tls_secret("ca", keys=("ca.crt",)))
    assert http(t, "https://foo.bar/").status == 400
    t = table(ingress("a", annotations={P + "allowlist-source-range": "10.0.0.0/8"}))
    assert http(t, "http://foo.bar/", source="192.0.2.7").status == 403
    assert http(table(ingress("a")), "http://nothing.here/").status == 404
    o = http(table(ingress("a")), "http://foo.bar/", body_bytes=2 * 1024 ** 2)
    assert o.status == 413 and "1m" in o.reason  # nginx's default client_max_body_size
    o = http(table(ingress("a", paths=(("/", "Prefix", "empty", 80),))), "http://foo.bar/")
    assert o.status == 503 and "has no ready endpoints" in o.reason


def test_413_comes_before_the_redirects():
    # client_max_body_size is checked when the location is found, before the rewrite phase
    t = table(ingress("a", tls="cert"), tls_secret("cert"))
    assert http(t, "http://foo.bar/", body_bytes=5 * 1024 ** 2).status == 413


def test_missing_service_and_missing_port_are_503_with_reasons():
    t = table(ingress("a", paths=(("/x", "Prefix", "ghost", 80), ("/y", "Prefix", "echo", 9999),
                                  ("/z", "Prefix", "echo", "nope"))))
    o = http(t, "http://foo.bar/x")
    assert o.status == 503 and "Service default/ghost is not in the input" in o.reason
    o = http(t, "http://foo.bar/y")
    assert o.status == 503 and "has no port '9999'" in o.reason
    assert "has no port 'nope'" in http(t, "http://foo.bar/z").reason


def test_port_by_name_and_by_target_port():
    t = table(ingress("a", paths=(("/n", "Prefix", "echo", "http"), ("/t", "Prefix", "echo", 8080))))
    assert http(t, "http://foo.bar/n").status == 200
    o = http(t, "http://foo.bar/t")  # serviceEndpoints matches the targetPort too
    assert o.status == 200 and o.backend.service_port == 80


def test_headers_the_backend_sees():
    o = http(table(ingress("a")), "https://foo.bar/x", source="198.51.100.4",
             headers={"X-Forwarded-For": "1.2.3.4", "Accept": "text/html"})
    h = o.headers
    assert h["X-Real-IP"] == "198.51.100.4" and h["X-Forwarded-For"] == "198.51.100.4"
    assert h["X-Original-Forwarded-For"] == "1.2.3.4"
    assert (h["X-Forwarded-Proto"], h["X-Forwarded-Port"], h["Host"]) == ("https", "443",
                                                                          "foo.bar")
    assert h["Accept"] == "text/html" and "X-Request-ID" not in h


def test_forwarded_headers_trusted_or_not():
    # test/e2e/settings/forwarded_headers.go: "should trust X-Forwarded headers when setting is
    # true" and "should not trust X-Forwarded headers when setting is false"
    sent = {"X-Forwarded-Port": "1234", "X-Forwarded-Proto": "myproto",
            "X-Forwarded-Scheme": "myproto", "X-Forwarded-For": "1.2.3.4",
            "X-Forwarded-Host": "myhost"}
    cfg = controller("--configmap=ingress-nginx/c", name="c",
                     config={"use-forwarded-headers": "true"})
    h = http(table(ingress("a", "forwarded-headers"), cfg), "http://forwarded-headers/",
             headers=sent).headers
    assert (h["Host"], h["X-Forwarded-Host"], h["X-Forwarded-Proto"], h["X-Forwarded-Scheme"],
            h["X-Forwarded-Port"], h["X-Forwarded-For"]) == (
        "myhost", "myhost", "myproto", "myproto", "1234", "1.2.3.4")
    h = http(table(ingress("a", "forwarded-headers")), "http://forwarded-headers/",
             headers=sent).headers
    assert (h["Host"], h["X-Forwarded-Port"], h["X-Forwarded-Proto"]) == (
        "forwarded-headers", "80", "http")
    # the allowlist judges the address the realip module settled on
    t = table(ingress("a", annotations={P + "allowlist-source-range": "1.2.3.0/24"}), cfg)
    assert http(t, "http://foo.bar/", headers={"X-Forwarded-For": "1.2.3.4"},
                source="192.0.2.1").status == 200


def test_bad_urls_are_usage_errors():
    for url in ("ftp://x/", "http:///nohost", "foo.bar/"):
        with pytest.raises(UsageError):
            request(url)
    with pytest.raises(UsageError):
        request("http://foo.bar/", source="not-an-ip")
