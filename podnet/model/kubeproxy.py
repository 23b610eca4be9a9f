"""kube-proxy's configuration, read one way wherever it comes from: a standalone
``KubeProxyConfiguration`` document (a kubeadm config file) or the one kubeadm keeps as YAML text
under ``data["config.conf"]`` of ConfigMap kube-system/kube-proxy.

kubeadm's kube-proxy DaemonSet runs ``kube-proxy --config=/var/lib/kube-proxy/config.conf`` with
that ConfigMap mounted there, so on a cluster that has the ConfigMap it is what kube-proxy reads:
a config file's KubeProxyConfiguration is only copied into it when kubeadm creates the cluster,
and later edits (``strictARP: true`` for MetalLB) are made in the ConfigMap. When both are in the
input and disagree, the ConfigMap's wins and the model says so.

Defaults are kube-proxy's own (``pkg/proxy/apis/config/v1alpha1/defaults.go``): mode iptables
on Linux (``""`` means it too), conntrack maxPerCore 32768, min 131072, tcpEstablishedTimeout
24h, tcpCloseWaitTimeout 1h; a ``null`` field (kubeadm writes them) is unset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podnet.errors import InputError
from podnet.model import validate
from podnet.model.load import _parse_text
from podnet.model.objects import Other
from podnet.model.parse.common import _freeze
from podnet.model.vocabulary import PROXY_MODES

KIND = "KubeProxyConfiguration"
CONFIGMAP = ("kube-system", "kube-proxy")
KEY = "config.conf"
EMBEDDED_PATH = f"data['{KEY}']"
DEFAULTS = {"maxPerCore": 32768, "min": 131072,
            "tcpEstablishedTimeout": 86400, "tcpCloseWaitTimeout": 3600}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def seconds(value: Any, o: Other, field: str) -> int:
    """A Go duration (``24h0m0s``, ``90s``) or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InputError(o.source, o.at(field), f"{value!r} is not a duration (like 24h0m0s)")
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return int(sum(float(n) * scale[u] for n, u in parts))


def _get(body: Mapping[str, Any], path: str) -> Any:
    cur: Any = body
    for key in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def mode(o: Other) -> str:
    value = _get(o.body, "mode") or "iptables"
    if value not in PROXY_MODES:
        raise InputError(o.source, o.at("mode"),
                         f"{value!r} is not one of {', '.join(PROXY_MODES)}")
    return str(value)


@dataclass(frozen=True, slots=True)
class Settings:
    """What podnet reads from one KubeProxyConfiguration, defaults applied."""

    mode: str
    max_per_core: int
    min: int
    established: int  # seconds; 0: kube-proxy leaves the sysctl alone
    close_wait: int
    cluster_cidr: str
    strict_arp: bool
    tcp_be_liberal: bool = False  # conntrack.tcpBeLiberal: kube-proxy sets the sysctl to 1
    # nodePortAddresses: CIDRs, or "primary" for the node's own IP; () is kube-proxy's default
    node_port_addresses: tuple[str, ...] = ()

    def differences(self, other: Settings) -> list[str]:
        names = {"mode": "mode", "max_per_core": "conntrack.maxPerCore", "min": "conntrack.min",
                 "established": "conntrack.tcpEstablishedTimeout",
                 "close_wait": "conntrack.tcpCloseWaitTimeout", "cluster_cidr": "clusterCIDR",
                 "strict_arp": "ipvs.strictARP", "tcp_be_liberal": "conntrack.tcpBeLiberal",
                 "node_port_addresses": "nodePortAddresses"}
        return [f"{field} ({getattr(self, attr)!r} against {getattr(other, attr)!r})"
                for attr, field in names.items() if getattr(self, attr) != getattr(other, attr)]


def settings(o: Other) -> Settings:
    """Every field podnet uses, checked; errors name the object, and for the embedded one the
    ConfigMap's key, then the field."""
    def number(key: str) -> int:
        value = _get(o.body, f"conntrack.{key}")
        if value is None:
            return DEFAULTS[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(o.source, o.at(f"conntrack.{key}"), f"{value!r} is not a number")
        return value

    def duration(key: str) -> int:
        value = _get(o.body, f"conntrack.{key}")
        return DEFAULTS[key] if value is None else seconds(value, o, f"conntrack.{key}")

    cidr = _get(o.body, "clusterCIDR")
    if cidr is not None and not isinstance(cidr, str):
        raise InputError(o.source, o.at("clusterCIDR"), f"{cidr!r} is not a CIDR")
    strict = _get(o.body, "ipvs.strictARP")
    liberal = _get(o.body, "conntrack.tcpBeLiberal")
    if liberal is not None and not isinstance(liberal, bool):
        raise InputError(o.source, o.at("conntrack.tcpBeLiberal"), f"{liberal!r} is not true or false")
    return Settings(mode(o), number("maxPerCore"), number("min"),
                    duration("tcpEstablishedTimeout"), duration("tcpCloseWaitTimeout"),
                    cidr or "", strict is True, liberal is True, node_port_addresses(o))


def node_port_addresses(o: Other) -> tuple[str, ...]:
    """``nodePortAddresses``, checked as kube-proxy's validation does: each entry a CIDR (either
    family; each proxier keeps its own) or the single word ``primary``."""
    value = _get(o.body, "nodePortAddresses")
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):  # the model keeps lists frozen as tuples
        raise InputError(o.source, o.at("nodePortAddresses"), f"{value!r} is not a list")
    out = []
    for i, entry in enumerate(value):
        field = o.at(f"nodePortAddresses[{i}]")
        if entry == "primary":
            if len(value) > 1:
                raise InputError(o.source, field, "'primary' cannot be combined with CIDRs")
        elif not isinstance(entry, str) or validate.cidr_error(entry.strip()):
            raise InputError(o.source, field, f"{entry!r} is not a CIDR or 'primary'")
        out.append(str(entry).strip())
    return tuple(out)



def embedded(cm: Other) -> Other | None:
    """The KubeProxyConfiguration kubeadm keeps in ConfigMap kube-system/kube-proxy, as an
    object whose source is the ConfigMap and whose fields sit under its key."""
    if cm.kind != "ConfigMap" or (cm.namespace, cm.name) != CONFIGMAP:
        return None
    data = cm.body.get("data")
    text = data.get(KEY) if isinstance(data, Mapping) else None
    if text is None:
        return None
    if not isinstance(text, str):
        raise InputError(cm.source, EMBEDDED_PATH, "must be the KubeProxyConfiguration as text")
    try:
        docs = _parse_text(text, KEY)
    except InputError as e:
        raise InputError(cm.source, EMBEDDED_PATH, e.message) from None
    docs = [d for d in docs if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise InputError(cm.source, EMBEDDED_PATH,
                         "must hold one KubeProxyConfiguration (a YAML mapping)")
    body = docs[0]
    kind = body.get("kind", KIND)
    if kind != KIND:
        raise InputError(cm.source, f"{EMBEDDED_PATH}.kind", f"{kind!r} is not {KIND}")
    return Other(KIND, str(body.get("apiVersion") or ""), "", "", cm.source, _freeze(body),
                 EMBEDDED_PATH)


def arrange(configs: Iterable[Other], warnings: list[str]) -> list[Other]:
    """``configs`` with each embedded KubeProxyConfiguration added right after its ConfigMap,
    and a warning when a standalone one says otherwise (the ConfigMap's wins: ``effective``)."""
    out: list[Other] = []
    for o in configs:
        out.append(o)
        inner = embedded(o)
        if inner is not None:
            out.append(inner)
    chosen = effective(out)
    if chosen is None or not chosen.path:
        return out
    mine = settings(chosen)
    for o in out:
        if o.kind != KIND or o is chosen:
            continue
        differ = mine.differences(settings(o))
        if differ:
            warnings.append(
                f"{chosen.source.where()}, field {EMBEDDED_PATH}: its KubeProxyConfiguration and "
                f"the one in {o.source.where()} disagree on {', '.join(differ)}; podnet reads "
                f"the ConfigMap's, as kube-proxy does (kubeadm mounts it as kube-proxy's "
                "--config file; a config file's KubeProxyConfiguration is only copied into it "
                "when the cluster is created)")
    return out


def effective(configs: Iterable[Other]) -> Other | None:
    """The KubeProxyConfiguration kube-proxy runs with: the ConfigMap's when there is one,
    else the first standalone document."""
    found = [o for o in configs if o.kind == KIND]
    return next((o for o in found if o.path), found[0] if found else None)
