"""Each modelled ingress-nginx annotation: its validation, its effect on a request, and the
reasons podnet gives for the annotations a controller ignores. Cases from kubernetes/
ingress-nginx's test/e2e/annotations/*.go are named after their file and test."""

from __future__ import annotations

from ingress_kit import controller, http, ingress, table, tls_secret

P = "nginx.ingress.kubernetes.io/"


def one(annotations: dict[str, str], *extra: str, host: str = "foo.bar", **kw):  # type: ignore[no-untyped-def]
    return table(ingress("a", host, annotations=annotations, **kw), *extra)


def parsed(t):  # type: ignore[no-untyped-def]
    return t.parsed["default/a"]


def reasons(t) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {i.key: i.reason for i in parsed(t).ignored}


def test_ssl_redirect_follows_tls_and_can_be_turned_off():
    t = one({}, tls_secret("cert"), tls="cert")
    o = http(t, "http://foo.bar/path/?q=1")
    assert (o.status, o.location) == (308, "https://foo.bar/path/?q=1")
    o = http(t, "http://foo.bar/path/")
    assert o.location == "https://foo.bar/path"  # trailing slash dropped (lua_ingress.lua)
    t = one({P + "preserve-trailing-slash": "true"}, tls_secret("cert"), tls="cert")
    assert http(t, "http://foo.bar/path/").location == "https://foo.bar/path/"
    t = one({P + "ssl-redirect": "false"}, tls_secret("cert"), tls="cert")
    assert http(t, "http://foo.bar/").status == 200
    assert http(one({}), "http://foo.bar/").status == 200  # no TLS, no redirect


def test_force_ssl_redirect():
    # forcesslredirect.go: "should redirect to https"
    t = one({P + "force-ssl-redirect": "true"}, host="forcesslredirect.bar.com")
    o = http(t, "http://forcesslredirect.bar.com/")
    assert (o.status, o.location) == (308, "https://forcesslredirect.bar.com")
    assert http(t, "https://forcesslredirect.bar.com/").status == 200


def test_backend_protocol():
    # backendprotocol.go: "... with lowercase annotation"
    t = one({P + "backend-protocol": "https"})
    assert parsed(t).annotations.backend_protocol == "HTTPS"
    assert "(HTTPS)" in http(t, "http://foo.bar/").reason
    t = one({P + "backend-protocol": "FTP"})
    assert parsed(t).annotations.backend_protocol == "HTTP"
    assert "invalid value" in reasons(t)[P + "backend-protocol"]


def test_proxy_body_size():
    # proxy.go: "should set proxy client-max-body-size to 8m"
    t = one({P + "proxy-body-size": "8m"})
    assert http(t, "http://foo.bar/", body_bytes=8 * 1024 ** 2).status == 200
    assert http(t, "http://foo.bar/", body_bytes=8 * 1024 ** 2 + 1).status == 413
    # "should not set proxy client-max-body-size to incorrect value": nginx's 1m then
    t = one({P + "proxy-body-size": "15r"})
    assert http(t, "http://foo.bar/", body_bytes=1024 ** 2 + 1).status == 413
    assert "invalid value" in reasons(t)[P + "proxy-body-size"]
    t = one({P + "proxy-body-size": "0"})
    assert http(t, "http://foo.bar/", body_bytes=10 ** 10).status == 200


def test_proxy_timeouts_and_buffer_size():
    # proxy.go: "should set valid proxy timeouts" and "should not set invalid proxy timeouts"
    good = parsed(one({P + "proxy-connect-timeout": "50", P + "proxy-send-timeout": "20",
                       P + "proxy-read-timeout": "20", P + "proxy-buffer-size": "16k"}))
    a = good.annotations
    assert (a.connect_timeout, a.send_timeout, a.read_timeout, a.proxy_buffer_size) == (
        50, 20, 20, "16k")
    t = one({P + "proxy-connect-timeout": "50k", P + "proxy-send-timeout": "20k",
             P + "proxy-read-timeout": "10s", P + "proxy-buffer-size": "16 kb"})
    a = parsed(t).annotations
    assert (a.connect_timeout, a.send_timeout, a.read_timeout, a.proxy_buffer_size) == (
        5, 60, 60, "4k")
    assert "no unit" in reasons(t)[P + "proxy-read-timeout"]


CA = tls_secret("ca", keys=("ca.crt",))


def test_auth_tls_verify_on():
    # authtls.go: "should set sslClientCertificate, sslVerifyClient and sslVerifyDepth with
    # auth-tls-secret" (verify on, depth 1)
    t = one({P + "auth-tls-secret": "default/ca"}, CA)
    auth = t.servers["foo.bar"].auth_tls
    assert auth is not None and (auth.verify_client, auth.depth) == ("on", 1)
    o = http(t, "https://foo.bar/")
    assert o.status == 400 and "No required SSL certificate was sent" in o.reason
    o = http(t, "https://foo.bar/", client_cert="alice")
    assert o.status == 200
    assert o.headers["ssl-client-subject-dn"] == "CN=alice"
    assert o.headers["ssl-client-verify"] == "SUCCESS" and "ssl-client-cert" not in o.headers
    assert http(t, "http://foo.bar/").status == 200  # plain HTTP asks for no certificate


def test_auth_tls_options():
    # authtls.go: "should set valid auth-tls-secret, sslVerify to off, and sslVerifyDepth to 2"
    t = one({P + "auth-tls-secret": "default/ca", P + "auth-tls-verify-client": "off",
             P + "auth-tls-verify-depth": "2"}, CA)
    auth = t.servers["foo.bar"].auth_tls
    assert auth is not None and (auth.verify_client, auth.depth) == ("off", 2)
    assert http(t, "https://foo.bar/").status == 200
    t = one({P + "auth-tls-secret": "default/ca", P + "auth-tls-verify-client": "optional"}, CA)
    assert http(t, "https://foo.bar/").status == 200
    # "should validate auth-tls-verify-client": a bad value falls back to on
    t = one({P + "auth-tls-secret": "default/ca", P + "auth-tls-verify-client": "w00t"}, CA)
    assert t.servers["foo.bar"].auth_tls.verify_client == "on"
    assert "'on' applies" in reasons(t)[P + "auth-tls-verify-client"]


def test_auth_tls_pass_certificate():
    # authtls.go: "should pass URL-encoded certificate to upstream"
    t = one({P + "auth-tls-secret": "default/ca",
             P + "auth-tls-pass-certificate-to-upstream": "true"}, CA)
    assert "ssl-client-cert" in http(t, "https://foo.bar/", client_cert="bob").headers
    t = one({P + "auth-tls-secret": "default/ca",
             P + "auth-tls-pass-certificate-to-upstream": "yes"}, CA)
    assert "default/a" in t.ignored and "drops the whole Ingress" in t.ignored["default/a"]


def test_auth_tls_unusable_secret_forbids_the_host():
    t = one({P + "auth-tls-secret": "default/absent"})
    o = http(t, "http://foo.bar/")
    assert o.status == 403 and "Secret default/absent is not in the input" in o.reason
    t = one({P + "auth-tls-secret": "other/ca"}, tls_secret("ca", ns="other", keys=("ca.crt",)))
    assert "cross namespace" in http(t, "https://foo.bar/").reason
    t = one({P + "auth-tls-secret": "other/ca"}, tls_secret("ca", ns="other", keys=("ca.crt",)),
            controller("--configmap=ingress-nginx/c", name="c",
                       config={"allow-cross-namespace-resources": "true"}))
    assert http(t, "https://foo.bar/").status == 400
    # a Secret without ca.crt disables client verification
    t = one({P + "auth-tls-secret": "default/cert"}, tls_secret("cert"))
    assert t.servers["foo.bar"].auth_tls is None and http(t, "https://foo.bar/").status == 200


def test_allowlist_source_range():
    # ipallowlist.go: "should set valid ip allowlist range"
    t = one({P + "allowlist-source-range": "18.0.0.0/8, 56.0.0.0/8"})
    assert parsed(t).annotations.allowlist == ("18.0.0.0/8", "56.0.0.0/8")
    assert http(t, "http://foo.bar/", source="18.1.2.3").status == 200
    assert http(t, "http://foo.bar/", source="203.0.113.9").status == 403
    t = one({P + "whitelist-source-range": "10.0.0.1"})
    assert http(t, "http://foo.bar/", source="10.0.0.1").status == 200
    assert http(t, "http://foo.bar/", source="10.0.0.2").status == 403
    t = one({P + "allowlist-source-range": "10.0.0.0/33"})
    o = http(t, "http://foo.bar/", source="10.0.0.1")
    assert o.status == 503 and "location denied" in o.reason


def test_allowlist_is_checked_after_the_redirects():
    # the access phase comes after the rewrite phase: a stranger is redirected, not refused
    t = one({P + "allowlist-source-range": "10.0.0.0/8"}, tls_secret("cert"), tls="cert")
    assert http(t, "http://foo.bar/", source="192.0.2.1").status == 308
    assert http(t, "https://foo.bar/", source="192.0.2.1").status == 403


def test_rewrite_target_with_captures():
    t = table(ingress("a", paths=(("/something(/|$)(.*)", "ImplementationSpecific", "echo", 80),),
                      annotations={P + "rewrite-target": "/$2", P + "use-regex": "true"}))
    assert "rewritten to /new" in http(t, "http://foo.bar/something/new").reason
    assert "rewritten to /" in http(t, "http://foo.bar/something").reason


def test_app_root():
    # approot.go: "should redirect to /foo"
    t = one({P + "app-root": "/foo"}, host="approot.bar.com")
    o = http(t, "http://approot.bar.com/")
    assert (o.status, o.location) == (302, "http://approot.bar.com/foo")
    assert http(t, "http://approot.bar.com/foo").status == 200
    t = one({P + "app-root": "http://elsewhere/foo"})
    assert http(t, "http://foo.bar/").status == 200  # absolute URLs are refused


def test_permanent_and_temporal_redirect():
    # redirect.go: "should respond with a standard redirect code"
    t = table(ingress("a", "redirect", paths=(("/something", "Prefix", "echo", 80),),
                      annotations={P + "permanent-redirect": "http://redirect.example.com"}))
    o = http(t, "http://redirect/something")
    assert (o.status, o.location) == (301, "http://redirect.example.com")
    # "should respond with a custom redirect code"
    t = table(ingress("a", "redirect", paths=(("/something", "Prefix", "echo", 80),),
                      annotations={P + "permanent-redirect": "http://redirect.example.com",
                                   P + "permanent-redirect-code": "302"}))
    assert http(t, "http://redirect/something").status == 302
    t = one({P + "temporal-redirect": "https://example.com/x"})
    o = http(t, "http://foo.bar/")
    assert (o.status, o.location) == (302, "https://example.com/x")
    assert "temporal-redirect" in o.reason
    # a character outside the validator's set drops the Ingress; a non-http scheme is ignored
    t = one({P + "permanent-redirect": "https://example.com/%20"})
    assert "drops the whole Ingress" in t.ignored["default/a"]
    t = one({P + "permanent-redirect": "ftp://example.com"})
    assert http(t, "http://foo.bar/").status == 200
    assert "only http and https" in reasons(t)[P + "permanent-redirect"]


def test_permanent_redirect_beats_ssl_redirect():
    # `return 301` runs in the rewrite module, before rewrite_by_lua's ssl-redirect
    t = one({P + "permanent-redirect": "https://example.com"}, tls_secret("cert"), tls="cert")
    assert http(t, "http://foo.bar/").status == 301


CANARY = ""  # ingress_kit.ECHO has the canary Service


def canary(anns: dict[str, str], host: str = "foo.bar") -> str:
    return ingress("b", host, paths=(("/", "Prefix", "canary", 80),),
                   annotations={P + "canary": "true", **anns})


def test_canary_by_weight():
    # canary.go: "should route requests only to mainline if canary weight is 0"
    t = table(ingress("a"), CANARY, canary({P + "canary-weight": "0"}))
    o = http(t, "http://foo.bar/")
    assert o.backend.service == "default/echo" and o.canary["probability"] == 0.0
    # "should route requests only to canary if canary weight is 100"
    o = http(table(ingress("a"), CANARY, canary({P + "canary-weight": "100"})), "http://foo.bar/")
    assert o.backend.service == "default/canary"
    # "should route requests split between mainline and canary if canary weight is 50"
    o = http(table(ingress("a"), CANARY, canary({P + "canary-weight": "50"})), "http://foo.bar/")
    assert o.backend.service == "default/echo" and o.canary["probability"] == 0.5
    assert o.canary["service"] == "default/canary"
    # "... if canary weight is 100 and weight total is 200"
    o = http(table(ingress("a"), CANARY, canary({P + "canary-weight": "100",
                                                 P + "canary-weight-total": "200"})),
             "http://foo.bar/")
    assert o.canary["probability"] == 0.5


def test_canary_by_header():
    # canary.go: "when canaried by header with no value": always / never / other
    t = table(ingress("a"), CANARY, canary({P + "canary-by-header": "CanaryByHeader",
                                            P + "canary-weight": "100"}))
    assert http(t, "http://foo.bar/", headers={"CanaryByHeader": "always"}
                ).backend.service == "default/canary"
    assert http(t, "http://foo.bar/", headers={"CanaryByHeader": "never"}
                ).backend.service == "default/echo"
    # any other value falls through to the weight
    assert http(t, "http://foo.bar/", headers={"CanaryByHeader": "badval"}
                ).backend.service == "default/canary"
    # "when canaried by header with value"
    t = table(ingress("a"), CANARY, canary({P + "canary-by-header": "CanaryByHeader",
                                            P + "canary-by-header-value": "DoCanary"}))
    assert http(t, "http://foo.bar/", headers={"canarybyheader": "DoCanary"}
                ).backend.service == "default/canary"
    assert http(t, "http://foo.bar/", headers={"CanaryByHeader": "always"}
                ).backend.service == "default/echo"


def test_canary_without_mainline_host_is_no_server():
    # canary.go: "should not use canary with domain as a server"
    t = table(ingress("a"), CANARY, canary({P + "canary-weight": "100"}, host="other.bar"))
    assert http(t, "http://other.bar/").status == 404
    t = one({P + "canary-weight": "100"})  # weight without canary: "true"
    assert "without canary" in reasons(t)[P + "canary-weight"]


def test_affinity_cookie():
    t = one({P + "affinity": "cookie", P + "session-cookie-name": "route"})
    a = parsed(t).annotations
    assert (a.affinity, a.affinity_cookie) == ("cookie", "route")
    assert "sticky by cookie route" in http(t, "http://foo.bar/").reason
    t = one({P + "affinity": "ip"})
    assert parsed(t).annotations.affinity == "" and P + "affinity" in reasons(t)


def test_server_alias():
    # alias.go: "should return status code 200 for host 'foo' and 'bar'"
    t = one({P + "server-alias": "bar"}, host="foo")
    assert http(t, "http://foo/").status == 200 and http(t, "http://bar/").status == 200
    # "should return status code 200 for host 'foo' and 404 for 'bar'" (no alias)
    assert http(one({}, host="foo"), "http://bar/").status == 404
    t = one({P + "server-alias": "bad name!"})
    assert "drops the whole Ingress" in t.ignored["default/a"]


def test_enable_cors_preflight():
    # cors.go: "should enable cors": the preflight is answered by the controller
    t = one({P + "enable-cors": "true"})
    assert http(t, "http://foo.bar/", method="OPTIONS").status == 204
    assert http(t, "http://foo.bar/", method="GET").status == 200
    t = one({P + "enable-cors": "true", P + "cors-allow-origin": "https://origin.cors.com"})
    assert http(t, "http://foo.bar/", method="OPTIONS",
                headers={"Origin": "https://origin.cors.com"}).status == 204
    assert http(t, "http://foo.bar/", method="OPTIONS",
                headers={"Origin": "https://evil.com"}).status == 200


def test_ignored_annotation_reasons():
    t = one({"nginx.org/proxy-buffer-size": "16k", "ingress.kubernetes.io/ssl-redirect": "true",
             "traefik.ingress.kubernetes.io/router.entrypoints": "web",
             "alb.ingress.kubernetes.io/scheme": "internet-facing",
             P + "no-such-thing": "1", P + "limit-rps": "5",
             P + "auth-tls-verify-depth": "2"})
    r = reasons(t)
    assert "NGINX Inc." in r["nginx.org/proxy-buffer-size"]
    assert r["ingress.kubernetes.io/ssl-redirect"].startswith("wrong prefix")
    assert "Traefik" in r["traefik.ingress.kubernetes.io/router.entrypoints"]
    assert "AWS Load Balancer" in r["alb.ingress.kubernetes.io/scheme"]
    assert r[P + "no-such-thing"] == "ingress-nginx has no such annotation"
    assert "not modelled" in r[P + "limit-rps"]
    assert "without " + P + "auth-tls-secret" in r[P + "auth-tls-verify-depth"]
    assert "default/a" in t.accepted


def test_snippets_are_too_risky_by_default():
    # badannotationvalues.go drops an Ingress whose annotation fails validation; a Critical
    # annotation above annotations-risk-level (High by default) drops it the same way
    t = one({P + "configuration-snippet": "more_set_headers 'x: y';"})
    assert "Critical risk" in t.ignored["default/a"]
    assert http(t, "http://foo.bar/").status == 404


def test_custom_annotations_prefix():
    t = table(controller("--annotations-prefix=custom.io"),
              ingress("a", annotations={"custom.io/ssl-redirect": "false",
                                        P + "proxy-body-size": "8m"}, tls="cert"),
              tls_secret("cert"))
    assert http(t, "http://foo.bar/").status == 200
    assert "wrong prefix" in reasons(t)[P + "proxy-body-size"]


def test_a_canary_ingress_applies_only_its_canary_annotations():
    t = table(ingress("a"), canary({P + "canary-weight": "10", P + "proxy-body-size": "1k"}))
    b = {i.key: i.reason for i in t.parsed["default/b"].ignored}
    assert "not applied" in b[P + "proxy-body-size"]
    assert http(t, "http://foo.bar/", body_bytes=4096).status == 200
