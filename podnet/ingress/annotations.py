"""An Ingress's annotations as one ingress-nginx controller reads them.

Each annotation goes through its parser's validator (``internal/ingress/annotations/*``), and
what happens to a bad value is the parser's choice, reproduced here: most fall back to the
controller's default (the annotation is ignored); a few return the validation error, and
then ``Extract`` fails and the whole Ingress is dropped (test/e2e/settings/
badannotationvalues.go, "should drop an ingress if there is an invalid character in some
annotation"); ``allowlist-source-range`` and an unusable ``auth-tls-secret`` deny the
locations instead (503, or 403 for the whole server). Annotations the controller never reads
(another prefix, another controller's) are reported with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from podnet.ingress import validators as v
from podnet.ingress.controllers import RISK_LEVELS, Controller, parse_bool
from podnet.ingress.known import COMPANIONS, CRITICAL, KNOWN, MODELLED
from podnet.ingress.secrets import ca_problem
from podnet.model.objects import Ingress, Other

BACKEND_PROTOCOLS = ("auto_http", "http", "https", "grpc", "grpcs", "fcgi")
FOREIGN = (  # annotation prefixes ingress-nginx does not read, and why
    ("nginx.org/", "another controller's annotation: NGINX Inc.'s NGINX Ingress Controller "
     "(nginx.org), not ingress-nginx"),
    ("nginx.com/", "another controller's annotation: NGINX Inc.'s NGINX Plus controller"),
    ("traefik.", "another controller's annotation: Traefik's"),
    ("haproxy.", "another controller's annotation: HAProxy's"),
    ("alb.ingress.kubernetes.io/", "another controller's annotation: the AWS Load Balancer "
     "Controller's"),
    ("ingress.gcp.kubernetes.io/", "another controller's annotation: GKE's"),
    ("kubernetes.io/ingress.global-static-ip-name", "another controller's annotation: GKE's"),
    ("appgw.ingress.kubernetes.io/", "another controller's annotation: Azure Application "
     "Gateway's"),
    ("konghq.com/", "another controller's annotation: Kong's"),
    ("projectcontour.io/", "another controller's annotation: Contour's"),
    ("ingress.kubernetes.io/", "wrong prefix: ingress.kubernetes.io/ without 'nginx.' is the "
     "pre-0.9 prefix"),
)
IGNORED_SILENTLY = ("kubernetes.io/ingress.class", "kubectl.kubernetes.io/",
                    "meta.helm.sh/", "cert-manager.io/", "field.cattle.io/")


@dataclass(frozen=True, slots=True)
class Ignored:
    key: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class AuthTLS:
    secret: str  # ns/name
    verify_client: str = "on"
    depth: int = 1
    pass_cert: bool = False
    ca_missing: str = ""  # the Secret has no usable ca.crt: no verification (a note)


@dataclass(frozen=True, slots=True)
class Canary:
    weight: int = 0
    weight_total: int = 100
    header: str = ""
    header_value: str = ""
    header_pattern: str = ""
    cookie: str = ""


@dataclass(frozen=True, slots=True)
class Annotations:
    """The settings of one Ingress's locations and servers, after defaults."""

    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    preserve_trailing_slash: bool = False
    use_regex: bool = False
    rewrite_target: str = ""
    app_root: str = ""
    backend_protocol: str = "HTTP"
    proxy_body_size: str = "1m"
    connect_timeout: int = 5
    read_timeout: int = 60
    send_timeout: int = 60
    proxy_buffer_size: str = "4k"
    auth_tls: AuthTLS | None = None
    auth_tls_error: str = ""  # the server answers 403 to everything
    allowlist: tuple[str, ...] = ()
    denied: str = ""  # the locations answer 503
    redirect_url: str = ""
    redirect_code: int = 0
    canary: Canary | None = None
    affinity: str = ""
    affinity_cookie: str = ""
    aliases: tuple[str, ...] = ()
    cors: bool = False
    cors_origins: tuple[str, ...] = ("*",)
    effective: Mapping[str, str] = field(default_factory=dict)  # applied annotations


@dataclass(frozen=True, slots=True)
class Parsed:
    annotations: Annotations
    ignored: tuple[Ignored, ...]
    dropped: str = ""  # why ingress-nginx drops the whole Ingress


class _Reader:
    def __init__(self, ing: Ingress, ctl: Controller) -> None:
        self.ing = ing
        self.ctl = ctl
        self.prefix = ctl.annotations_prefix + "/"
        self.ignored: list[Ignored] = []
        self.effective: dict[str, str] = {}
        self.drop = ""

    def key(self, name: str) -> str:
        return self.prefix + name

    def raw(self, name: str) -> str | None:
        value = self.ing.annotations.get(self.key(name))
        return None if value is None else value

    def get(self, name: str, check: v.Validator, on_invalid: str) -> str | None:
        """The value when present and valid. ``on_invalid``: "default" (ignored), "drop" (the
        Ingress is dropped), "return" (the caller decides)."""
        value = self.raw(name)
        if value is None:
            return None
        why = check(value) if value != "" and self.ctl.annotation_validation else ""
        if why:
            if on_invalid == "drop" and not self.drop:
                self.drop = (f"annotation {self.key(name)}: {value!r} is invalid ({why}); "
                             "ingress-nginx drops the whole Ingress")
            elif on_invalid == "default":
                self.ignore(name, f"invalid value ({why}); the default applies")
            return None
        text = "\n".join(line.strip() for line in value.split("\n"))
        if text == "":
            self.ignore(name, "empty value; the default applies")
            return None
        return text

    def ignore(self, name: str, reason: str) -> None:
        self.ignored.append(Ignored(self.key(name), self.ing.annotations[self.key(name)], reason))

    def use(self, name: str, shown: str | None = None) -> None:
        self.effective[self.key(name)] = shown if shown is not None else self.raw(name) or ""

    def boolean(self, name: str, default: bool, on_invalid: str = "default") -> bool:
        value = self.get(name, v.boolean, on_invalid)
        if value is None:
            return default
        self.use(name)
        return parse_bool(value) is True

    def integer(self, name: str, default: int) -> int:
        value = self.get(name, v.integer, "default")
        if value is None:
            return default
        self.use(name)
        return int(value)

    def string(self, name: str, check: v.Validator, default: str, on_invalid: str = "default"
               ) -> str:
        value = self.get(name, check, on_invalid)
        if value is None:
            return default
        self.use(name)
        return value


def _auth_tls(r: _Reader, secrets: Mapping[str, Other]) -> tuple[AuthTLS | None, str]:
    """authtls.Parse: (config, the denial that makes the server answer 403)."""
    secret = r.get("auth-tls-secret", v.regex(v.BASIC_CHARS, True), "drop")
    if secret is None:
        return None, ""
    ns, sep, name = secret.partition("/")
    if not sep or "/" in name:
        return None, f"auth-tls-secret {secret!r} is not namespace/name"
    ns = ns or r.ing.namespace
    if ns != r.ing.namespace and not r.ctl.config.allow_cross_namespace_resources:
        return None, (f"auth-tls-secret {secret}: cross namespace secrets are not supported "
                      "(allow-cross-namespace-resources is false)")
    exists, why = ca_problem(secrets, f"{ns}/{name}")
    if not exists:
        return None, f"auth-tls-secret: {why}"

    r.use("auth-tls-secret")
    verify = r.raw("auth-tls-verify-client")
    if verify is not None and v.AUTH_VERIFY_CLIENT.fullmatch(verify.replace(" ", "")):
        r.use("auth-tls-verify-client")
        verify = verify.replace(" ", "")
    else:
        if verify is not None:
            r.ignore("auth-tls-verify-client", "invalid value (on, off, optional or "
                     "optional_no_ca); 'on' applies")
        verify = "on"
    depth = r.integer("auth-tls-verify-depth", 1) or 1
    passed = r.boolean("auth-tls-pass-certificate-to-upstream", False, "drop")
    return AuthTLS(f"{ns}/{name}", verify, depth, passed, why), ""


def _canary(r: _Reader) -> Canary | None:
    enabled = r.boolean("canary", False)
    weight = r.integer("canary-weight", 0)
    total = r.integer("canary-weight-total", 100)
    header = r.string("canary-by-header", v.regex(v.BASIC_CHARS, True), "")
    value = r.string("canary-by-header-value", v.regex(v.BASIC_CHARS, True), "")
    pattern = r.string("canary-by-header-pattern", v.regex(v.IS_VALID_REGEX, False), "")
    cookie = r.string("canary-by-cookie", v.regex(v.BASIC_CHARS, True), "")
    if not enabled:
        if weight > 0 or header or value or pattern or cookie:
            for name in ("canary-weight", "canary-by-header", "canary-by-header-value",
                         "canary-by-header-pattern", "canary-by-cookie"):
                if r.key(name) in r.effective:
                    del r.effective[r.key(name)]
                    r.ignore(name, "canary annotations without canary: \"true\" are ignored")
        return None
    return Canary(weight, total, header, value, pattern, cookie)


def _redirect(r: _Reader) -> tuple[str, int]:
    url_check = v.regex(v.URL_IS_VALID, False)
    temporal = r.get("temporal-redirect", url_check, "drop")
    if temporal:
        code = r.get("temporal-redirect-code", v.integer, "drop")
        n = int(code) if code else 0
        if not 300 <= n <= 307:
            n = 302
        if not temporal.startswith("http"):
            r.ignore("temporal-redirect", "only http and https URLs are valid")
            return "", 0
        r.use("temporal-redirect")
        return temporal, n
    permanent = r.get("permanent-redirect", url_check, "drop")
    code = r.get("permanent-redirect-code", v.integer, "drop")
    n = int(code) if code else 0
    if not 300 <= n <= 308:
        n = 301
    if permanent and not permanent.startswith("http"):
        r.ignore("permanent-redirect", "only http and https URLs are valid")
        return "", 0
    if permanent:
        r.use("permanent-redirect")
        if code:
            r.use("permanent-redirect-code", str(n))
    return permanent or "", n if permanent else 0


def _foreign(ing: Ingress, prefix: str) -> list[Ignored]:
    out = []
    for key in sorted(ing.annotations):
        value = ing.annotations[key]
        if key.startswith(prefix + "/"):
            name = key[len(prefix) + 1:]
            if name not in KNOWN:
                out.append(Ignored(key, value, "ingress-nginx has no such annotation"))
            elif name not in MODELLED:
                out.append(Ignored(key, value, "read by ingress-nginx, not modelled by podnet"))
            continue
        if any(key.startswith(s) for s in IGNORED_SILENTLY):
            continue
        for foreign, why in FOREIGN:
            if key.startswith(foreign):
                if why.startswith("wrong prefix"):
                    why += f"; this controller reads {prefix}/..."
                out.append(Ignored(key, value, why))
                break
        else:
            if "/" in key and key.split("/", 1)[1] in KNOWN:
                out.append(Ignored(key, value, f"wrong prefix: this controller reads "
                                   f"{prefix}/..."))
    return out


def _without_effect(r: _Reader) -> list[Ignored]:
    """Modelled annotations that were read and neither applied nor rejected: their companion
    is absent (auth-tls-* without auth-tls-secret, a redirect code without its URL, ...)."""
    seen = set(r.effective) | {i.key for i in r.ignored}
    out = []
    for name in sorted(MODELLED):
        key = r.key(name)
        if key in r.ing.annotations and key not in seen:
            needs = COMPANIONS.get(name, "")
            why = f"no effect without {r.prefix}{needs}" if needs else "no effect here"
            out.append(Ignored(key, r.ing.annotations[key], why))
    return out


def parse(ing: Ingress, ctl: Controller, secrets: Mapping[str, Other]) -> Parsed:
    r = _Reader(ing, ctl)
    cfg = ctl.config
    risk_level = RISK_LEVELS.index(cfg.annotations_risk_level)
    risky = sorted(r.key(n) for n in CRITICAL if r.key(n) in ing.annotations)
    if risky and risk_level < RISK_LEVELS.index("critical"):
        return Parsed(Annotations(), tuple(_foreign(ing, ctl.annotations_prefix)),
                      f"annotation {risky[0]} is Critical risk, above annotations-risk-level "
                      f"{cfg.annotations_risk_level!r}: ingress-nginx drops the whole Ingress")
    path_check = v.regex(v.REGEX_PATH_WITH_CAPTURE, False)
    a = dict(
        rewrite_target=r.string("rewrite-target", path_check, ""),
        ssl_redirect=r.boolean("ssl-redirect", cfg.ssl_redirect),
        preserve_trailing_slash=r.boolean("preserve-trailing-slash", cfg.preserve_trailing_slash),
        force_ssl_redirect=r.boolean("force-ssl-redirect", cfg.force_ssl_redirect),
        use_regex=r.boolean("use-regex", False),
        app_root=r.string("app-root", path_check, ""),
        backend_protocol=r.string("backend-protocol", v.options(BACKEND_PROTOCOLS, False),
                                  "HTTP").strip().upper(),
        connect_timeout=r.integer("proxy-connect-timeout", cfg.proxy_connect_timeout),
        send_timeout=r.integer("proxy-send-timeout", cfg.proxy_send_timeout),
        read_timeout=r.integer("proxy-read-timeout", cfg.proxy_read_timeout),
        proxy_buffer_size=r.string("proxy-buffer-size", v.regex(v.SIZE, True),
                                   cfg.proxy_buffer_size),
        proxy_body_size=r.string("proxy-body-size", v.regex(v.SIZE, True), cfg.proxy_body_size),
    )
    if a["app_root"] and (not str(a["app_root"]).startswith("/")):
        r.ignore("app-root", "only absolute paths are allowed")
        del r.effective[r.key("app-root")]
        a["app_root"] = ""
    auth, auth_error = _auth_tls(r, secrets)
    if auth_error:
        r.ignore("auth-tls-secret", f"{auth_error}: the server answers 403")
    denied = auth_error
    allow: tuple[str, ...] = tuple(cfg.whitelist_source_range)
    name = "allowlist-source-range" if r.raw("allowlist-source-range") else (
        "whitelist-source-range" if r.raw("whitelist-source-range") else "")
    if name:
        value = r.raw(name) or ""
        why = v.cidrs(value)
        if why:
            denied = denied or (f"annotation {r.key(name)}: {why}: the locations are denied "
                                "(503)")
        else:
            allow = v.parse_cidrs(value)
            r.use(name, ",".join(allow))
    url, code = _redirect(r)
    canary = _canary(r)
    affinity = r.string("affinity", v.options(("cookie",), True), "").strip()
    cookie = r.string("session-cookie-name", v.regex(v.BASIC_CHARS, True),
                      "INGRESSCOOKIE") if affinity else ""
    alias_text = r.string("server-alias", v.server_names, "", "drop")
    aliases = tuple(sorted({s.strip() for s in alias_text.split(",") if s.strip()}))
    cors = r.boolean("enable-cors", False)
    origins: tuple[str, ...] = ("*",)
    raw_origins = r.get("cors-allow-origin", v.regex(v.CORS_ORIGIN_VALIDATOR, True), "default")
    if raw_origins is not None:
        kept = [o.strip() for o in raw_origins.split(",") if o.strip()]
        origins = ("*",) if "*" in kept else tuple(o for o in kept if v.CORS_ORIGIN.fullmatch(o))
        r.use("cors-allow-origin")
    if canary is not None:  # the main Ingress's settings apply (docs: annotations/#canary)
        for key in [k for k in r.effective if not k[len(r.prefix):].startswith(
                ("canary", "affinity", "session-cookie"))]:
            del r.effective[key]
            r.ignored.append(Ignored(key, ing.annotations[key], "a canary Ingress's other "
                                     "annotations are not applied: the main Ingress's are"))
    ignored = r.ignored + _foreign(ing, ctl.annotations_prefix) + _without_effect(r)
    if r.drop:
        return Parsed(Annotations(), tuple(ignored), r.drop)
    result = Annotations(
        **a,  # type: ignore[arg-type]
        auth_tls=auth, auth_tls_error=auth_error, allowlist=allow, denied=denied,
        redirect_url=url, redirect_code=code, canary=canary, affinity=affinity,
        affinity_cookie=cookie, aliases=aliases, cors=cors, cors_origins=origins,
        effective=dict(sorted(r.effective.items())))
    return Parsed(result, tuple(sorted(ignored, key=lambda i: i.key)))

