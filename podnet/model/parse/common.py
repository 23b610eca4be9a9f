"""What every API group's parser shares: object metadata (names checked as the API server
checks them), labels and selectors, ports and protocols, the warnings sink, and the kinds
podnet keeps whole."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from podnet.errors import InputError, SourceRef
from podnet.model import defaults, unmodelled, validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    frozen_map,
)
from podnet.model.selectors import OPERATORS, LabelSelector, Requirement, selector
from podnet.model.vocabulary import PROTOCOLS

WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                  "ReplicationController")


CONFIG_KINDS = ("ConfigMap", "KubeProxyConfiguration", "ClusterConfiguration",
                "KubeletConfiguration", "InitConfiguration", "IPAddressPool", "L2Advertisement",
                "BGPAdvertisement", "BGPPeer", "IPPool", "IngressClass", "FelixConfiguration",
                "BGPConfiguration")


CLUSTER_SCOPED = ("Namespace", "Node", "IngressClass", "KubeProxyConfiguration",
                  "ClusterConfiguration", "KubeletConfiguration", "InitConfiguration", "IPPool",
                  "FelixConfiguration", "BGPConfiguration", "ClusterRole",
                  "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                  "StorageClass", "PriorityClass", "GatewayClass", *unmodelled.CLUSTER_SCOPED)


# Problems the API server would reject but that leave network semantics clear are reported as
# warnings, not errors: dumps from tools and test corpora carry them, and the analysis of
# everything else in the file still holds.
_warnings: ContextVar[list[str] | None] = ContextVar("podnet_parse_warnings", default=None)


def _warn(f: Fields, key: str, message: str) -> None:
    sink = _warnings.get()
    if sink is not None:
        sink.append(f"{f.source.where()}, field {f.at(key)}: {message}")



def _meta(doc: RawDoc) -> tuple[Fields, SourceRef, str, str]:
    body = doc.body
    kind = str(body.get("kind"))
    pre = SourceRef(file=doc.file, doc=doc.doc, kind=kind)
    meta = Fields(body.get("metadata"), pre, "metadata")
    given = meta.str("name")
    name = given or meta.str("generateName")
    # Names reach rule comments, chain hashes, namespace and file names: they are checked here,
    # once, with the API server's rules, so nothing downstream meets a '/' or a newline.
    if name:
        why = validate.object_name_error(kind, name, generated=not given)
        if why and validate.name_is_tolerable(name):
            _warn(meta, "name" if given else "generateName", f"{why}; the API server would refuse it")
        elif why:
            shown = name.encode("unicode_escape").decode()  # a newline must not end the message
            bad = SourceRef(file=doc.file, doc=doc.doc, kind=kind, name=shown)
            raise InputError(bad, f"metadata.{'name' if given else 'generateName'}", why)
    namespace = "" if kind in CLUSTER_SCOPED else (meta.str("namespace")
                                                   or defaults.DEFAULT_NAMESPACE)
    why = validate.dns_label_error(namespace) if namespace else None
    if why:
        _tolerate(meta, "namespace", namespace, why)
    src = SourceRef(file=doc.file, doc=doc.doc, kind=kind, namespace=namespace, name=name)
    meta = Fields(body.get("metadata"), src, "metadata")
    return meta, src, namespace, name


def _labels(f: Fields, key: str = "labels") -> Mapping[str, str]:
    labels = f.str_map(key)
    for k, v in labels.items():
        why = validate.label_key_error(k) or validate.label_value_error(v)
        if why:
            raise f.error(f"{key}.{k}", why)
    return frozen_map(labels)


def label_selector(f: Fields | None) -> LabelSelector | None:
    """A LabelSelector, or None when the field is absent (null)."""
    if f is None:
        return None
    labels = f.str_map("matchLabels")
    for k, v in labels.items():
        why = validate.label_key_error(k) or validate.label_value_error(v)
        if why:
            raise f.error(f"matchLabels.{k}", why)
    reqs = []
    for e in f.items("matchExpressions"):
        key = e.str("key")
        op = e.str("operator")
        values = e.str_list("values")
        if not key:
            raise e.error("key", "is required")
        why = validate.label_key_error(key)
        if why:
            raise e.error("key", why)
        if op not in OPERATORS:
            raise e.error("operator", f"{op!r} is not one of {', '.join(OPERATORS)}")
        if op in ("In", "NotIn") and not values:
            raise e.error("values", f"must be non-empty for operator {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise e.error("values", f"must be empty for operator {op}")
        reqs.append(Requirement(key, op, values))
    return selector(labels, tuple(reqs))


def _int_or_string(f: Fields, key: str) -> int | str | None:
    value = f.raw(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise f.error(key, "must be a number or a name")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    raise f.error(key, f"must be a number or a name, found {value!r}")


def _protocol(f: Fields, key: str = "protocol") -> str:
    proto = f.str(key, defaults.DEFAULT_PROTOCOL) or defaults.DEFAULT_PROTOCOL
    if proto not in PROTOCOLS:
        raise f.error(key, f"{proto!r} is not one of {', '.join(PROTOCOLS)}")
    return proto


def _tolerate(f: Fields, key: str, value: str, why: str) -> None:
    """Warn of a name the API server would refuse but that is harmless wherever podnet puts it;
    refuse anything else (a '/', a space, a newline)."""
    if not validate.name_is_tolerable(value):
        raise f.error(key, why)
    _warn(f, key, f"{why}; the API server would refuse it")


def _checked(f: Fields, key: str, rule: Callable[[str], str | None]) -> str:
    """A name-valued field, checked with the API server's rule for it when present."""
    value = f.str(key)
    why = rule(value) if value else None
    if why:
        _tolerate(f, key, value, why)
    return value


def _as_kube_proxy_reads(f: Fields, key: str, text: str, cidr: bool = False) -> str:
    """An address or CIDR that kube-proxy parses, as it parses it (pkg/proxy/serviceport.go):
    source ranges trimmed, IPv4 with leading zeros in decimal (old API servers stored those).
    A value it reads differently from its text is a warning; one it cannot read, an error."""
    read = (validate.parse_cidr_sloppy(text.strip()) if cidr else validate.parse_ip_sloppy(text))
    if read is None:
        raise f.error(key, (validate.cidr_error if cidr else validate.ip_error)(text)
                      or f"{text!r} is not valid")
    if read != text:
        _warn(f, key, f"{text!r} is read as {read}, as kube-proxy parses it")
    return read


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _timestamp(f: Fields, key: str) -> str:
    """An RFC 3339 time as text (YAML reads unquoted ones as datetimes)."""
    value = f.raw(key)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # YAML's timestamps without a zone are UTC
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    return f.str(key)


def _target(ref: Fields | None) -> str:
    if ref is None or ref.str("kind", "Pod") != "Pod":
        return ""
    return f"{ref.str('namespace')}/{ref.str('name')}"


def _endpoint_ip(f: Fields, key: str, text: str) -> str:
    """Endpoint addresses as kube-proxy reads them; anything else (an FQDN slice's names) as is."""
    return (_as_kube_proxy_reads(f, key, text) if validate.parse_ip_sloppy(text) is not None
            else text)


IPV6_ONLY = ("is IPv6: podnet models IPv4 clusters and the IPv4 half of dual-stack ones, and "
             "this object gives no IPv4 address")


def ipv4_of(f: Fields, key: str, plural: str, item_key: str = "") -> str:
    """The IPv4 value of a dual-stack field pair (``podIP``/``podIPs``, ``podCIDR``/
    ``podCIDRs``, ``clusterIP``/``clusterIPs``): the singular one when it is IPv4, else the
    first IPv4 entry of the plural one; "" when neither is given. An object with addresses of
    IPv6 only is refused with that reason, never half-read."""
    values = [f.str(key)] if f.str(key) else []
    for i, item in enumerate(f.raw(plural) or ()):
        if item_key:
            values.append(Fields(item, f.source, f.at(f"{plural}[{i}]")).str(item_key))
        elif isinstance(item, str):
            values.append(item)
    values = [v for v in values if v and v != "None"]
    for v in values:
        if ":" not in v:
            return v
    if values:
        raise f.error(key if f.str(key) else plural, f"{values[0]!r} {IPV6_ONLY}")
    return ""

