"""The ingress-nginx controllers of the input: their flags and their ConfigMap.

A controller is a Deployment or DaemonSet whose container runs ``/nginx-ingress-controller``.
Its flags (``pkg/flags/flags.go`` in kubernetes/ingress-nginx) say which Ingresses it takes
and where its defaults come from; its ConfigMap (``internal/ingress/controller/config``,
``NewDefault``) sets the global defaults annotations override. When the input has Ingresses
and no controller, one default controller stands in, with ingress-nginx's documented
defaults, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from podnet.errors import SourceRef
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.model.parse import Workload

BINARY = "nginx-ingress-controller"
DEFAULT_CONTROLLER_CLASS = "k8s.io/ingress-nginx"
DEFAULT_INGRESS_CLASS = "nginx"
DEFAULT_PREFIX = "nginx.ingress.kubernetes.io"
RISK_LEVELS = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Config:
    """The ConfigMap settings podnet models, at ingress-nginx's defaults."""

    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    preserve_trailing_slash: bool = False
    proxy_body_size: str = "1m"
    proxy_connect_timeout: int = 5
    proxy_read_timeout: int = 60
    proxy_send_timeout: int = 60
    proxy_buffer_size: str = "4k"
    use_forwarded_headers: bool = False
    compute_full_forwarded_for: bool = False
    http_redirect_code: int = 308
    allow_cross_namespace_resources: bool = False
    annotations_risk_level: str = "high"
    whitelist_source_range: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Controller:
    namespace: str
    name: str
    source: SourceRef
    declared: bool = True  # False: the stand-in default controller
    ingress_class: str = DEFAULT_INGRESS_CLASS  # --ingress-class (the legacy annotation's value)
    controller_class: str = DEFAULT_CONTROLLER_CLASS  # --controller-class
    watch_without_class: bool = False
    class_by_name: bool = False  # --ingress-class-by-name
    annotations_prefix: str = DEFAULT_PREFIX
    default_backend: str = ""  # --default-backend-service ns/name
    configmap: str = ""  # --configmap ns/name
    watch_namespace: str = ""  # --watch-namespace ("" = all)
    annotation_validation: bool = True  # --enable-annotation-validation
    config: Config = field(default_factory=Config)
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _flags(args: tuple[str, ...], namespace: str) -> dict[str, str]:
    """``--name=value``, ``--name value`` and bare boolean ``--name`` after the binary.

    ``$(POD_NAMESPACE)`` is expanded as the official manifests rely on it."""
    out: dict[str, str] = {}
    words = list(args)
    start = next((i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == BINARY), -1)
    i = start + 1
    while i < len(words):
        w = words[i].replace("$(POD_NAMESPACE)", namespace)
        i += 1
        if not w.startswith("-"):
            continue
        name = w.lstrip("-")
        if "=" in name:
            k, v = name.split("=", 1)
            out[k] = v
        elif i < len(words) and not words[i].startswith("-"):
            out[name] = words[i].replace("$(POD_NAMESPACE)", namespace)
            i += 1
        else:
            out[name] = "true"
    return out


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_bool(value: str) -> bool | None:
    """Go's strconv.ParseBool, which ingress-nginx uses for every boolean."""
    return True if value in _TRUE else False if value in _FALSE else None


def _flag_bool(flags: Mapping[str, str], name: str, notes: list[str]) -> bool:
    if name not in flags:
        return False
    value = parse_bool(flags[name])
    if value is None:
        notes.append(f"--{name}={flags[name]} is not a boolean: the controller would not start")
        return False
    return value


def _int(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.lstrip("+-").isdigit() else None


def _read_config(data: Mapping[str, str], where: str, notes: list[str]) -> Config:
    cfg = Config()
    changes: dict[str, object] = {}
    for key, attr in (("ssl-redirect", "ssl_redirect"), ("force-ssl-redirect", "force_ssl_redirect"),
                      ("preserve-trailing-slash", "preserve_trailing_slash"),
                      ("use-forwarded-headers", "use_forwarded_headers"),
                      ("compute-full-forwarded-for", "compute_full_forwarded_for"),
                      ("allow-cross-namespace-resources", "allow_cross_namespace_resources")):
        if key in data:
            b = parse_bool(data[key])
            if b is None:
                notes.append(f"{where}: {key}: {data[key]!r} is not a boolean; default kept")
            else:
                changes[attr] = b
    for key, attr in (("proxy-connect-timeout", "proxy_connect_timeout"),
                      ("proxy-read-timeout", "proxy_read_timeout"),
                      ("proxy-send-timeout", "proxy_send_timeout"),
                      ("http-redirect-code", "http_redirect_code")):
        if key in data:
            n = _int(data[key])
            if n is None:
                notes.append(f"{where}: {key}: {data[key]!r} is not an integer; default kept")
            else:
                changes[attr] = n
    for key, attr in (("proxy-body-size", "proxy_body_size"),
                      ("proxy-buffer-size", "proxy_buffer_size")):
        if key in data:
            changes[attr] = data[key].strip()
    if "annotations-risk-level" in data:
        level = data["annotations-risk-level"].strip().lower()
        changes["annotations_risk_level"] = level if level in RISK_LEVELS else "low"
    if "whitelist-source-range" in data:
        changes["whitelist_source_range"] = tuple(
            s.strip() for s in data["whitelist-source-range"].split(",") if s.strip())
    code = changes.get("http_redirect_code")
    if isinstance(code, int) and code not in (301, 302, 307, 308):
        # ingress-nginx's configmap reader: only these are valid, else 308
        notes.append(f"{where}: http-redirect-code {code} is not 301, 302, 307 or 308; 308 is used")
        changes["http_redirect_code"] = 308
    return replace(cfg, **changes)  # type: ignore[arg-type]


def _configmap(cluster: Cluster, key: str) -> Mapping[str, str] | None:
    ns, _, name = key.partition("/")
    for o in cluster.configs:
        if o.kind == "ConfigMap" and o.namespace == ns and o.name == name:
            data = o.body.get("data") or {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, Mapping) else {}
    return None


def _controller(cluster: Cluster, w: Workload) -> Controller:
    notes: list[str] = []
    flags = _flags(w.args, w.namespace)
    configmap = flags.get("configmap", "")
    config = Config()
    if configmap:
        if "/" not in configmap:
            notes.append(f"--configmap={configmap} is not namespace/name: ingress-nginx's "
                         "defaults apply")
        else:
            data = _configmap(cluster, configmap)
            if data is None:
                notes.append(f"ConfigMap {configmap} (--configmap) is not in the input: "
                             "ingress-nginx's defaults apply")
            else:
                config = _read_config(data, f"ConfigMap {configmap}", notes)
    validation = True
    if "enable-annotation-validation" in flags:
        validation = parse_bool(flags["enable-annotation-validation"]) is not False
    return Controller(
        namespace=w.namespace, name=w.name, source=w.source,
        ingress_class=flags.get("ingress-class", DEFAULT_INGRESS_CLASS),
        controller_class=flags.get("controller-class", DEFAULT_CONTROLLER_CLASS),
        watch_without_class=_flag_bool(flags, "watch-ingress-without-class", notes),
        class_by_name=_flag_bool(flags, "ingress-class-by-name", notes),
        annotations_prefix=flags.get("annotations-prefix", DEFAULT_PREFIX),
        default_backend=flags.get("default-backend-service", ""),
        configmap=configmap, watch_namespace=flags.get("watch-namespace", ""),
        annotation_validation=validation, config=config, notes=tuple(notes))


def is_controller(w: Workload) -> bool:
    return (w.kind in ("Deployment", "DaemonSet", "StatefulSet")
            and any(a.rsplit("/", 1)[-1] == BINARY for a in w.args))


def find_controllers(cluster: Cluster) -> tuple[Controller, ...]:
    """The ingress-nginx controllers of the input, sorted; a stand-in default when the input
    has Ingresses and declares none."""
    found = sorted((_controller(cluster, w) for w in cluster.workloads if is_controller(w)),
                   key=lambda c: c.key)
    if found or not cluster.ingresses:
        return tuple(found)
    src = SourceRef(file="<default>", kind="Deployment", namespace="ingress-nginx",
                    name="ingress-nginx-controller")
    return (Controller("ingress-nginx", "ingress-nginx-controller", src, declared=False,
                       notes=("no ingress-nginx controller in the input: one stand-in "
                              "controller with ingress-nginx's defaults (class nginx, "
                              "controller k8s.io/ingress-nginx, prefix "
                              "nginx.ingress.kubernetes.io)",)),)


def controller_pods(cluster: Cluster, controller: Controller) -> list[Pod]:
    """The running pods of a declared controller: in its namespace, carrying every label of
    its pod template (a Deployment's pods belong to a ReplicaSet, so owners do not tell)."""
    w = next((w for w in cluster.workloads if (w.namespace, w.name, is_controller(w))
              == (controller.namespace, controller.name, True)), None)
    if w is None or not w.template.labels:
        return []
    want = w.template.labels.items()
    return [p for p in cluster.pods if p.namespace == controller.namespace
            and not p.host_network and want <= p.labels.items()]
