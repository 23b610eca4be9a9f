"""The API server's validation rules that matter to network semantics (names, labels, ports, CIDRs)."""

from __future__ import annotations

import ipaddress
import re

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def label_key_error(key: str) -> str | None:
    """Return why ``key`` is not a valid label key (apimachinery IsQualifiedName), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return (f"label key {key!r}: name must be 63 characters or less, alphanumeric, '-', "
                "'_' or '.', starting and ending with an alphanumeric character")
    return None


def label_value_error(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63 or not _LABEL_NAME.fullmatch(value):
        return (f"label value {value!r} must be 63 characters or less, alphanumeric, '-', '_' "
                "or '.', starting and ending with an alphanumeric character")
    return None


def port_name_error(name: str) -> str | None:
    """IANA_SVC_NAME rules used by named ports."""
    if len(name) > 15:
        return f"port name {name!r} is longer than 15 characters"
    if not _PORT_NAME.fullmatch(name) or "--" in name:
        return f"port name {name!r} must be lowercase alphanumeric or '-' (IANA_SVC_NAME)"
    if not any(c.isalpha() for c in name):
        return f"port name {name!r} must contain at least one letter"
    return None


def port_number_error(port: int) -> str | None:
    if not 1 <= port <= 65535:
        return f"port {port} is not between 1 and 65535"
    return None


def cidr_error(cidr: str) -> str | None:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return f"{cidr!r} is not a valid CIDR"
    if "/" not in cidr:
        return f"{cidr!r} is not a valid CIDR (no prefix length)"
    return None


def ip_error(ip: str) -> str | None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return f"{ip!r} is not a valid IP address"
    return None


# IPv4 as Go's net.ParseIP read it before Go 1.17, and as k8s.io/utils/net ParseIPSloppy still
# does (KEP-4858): four decimal fields, leading zeros allowed and ignored ("010" is ten).
_SLOPPY_V4 = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")


def parse_ip_sloppy(text: str) -> str | None:
    """The address kube-proxy reads in ``text``, in canonical form, or None if it reads none.
    API servers before v1.33 stored IPv4 addresses with leading zeros; kube-proxy parses them
    in decimal ("1.2.3.004" is 1.2.3.4)."""
    m = _SLOPPY_V4.fullmatch(text)
    if m:
        octets = [int(g) for g in m.groups()]
        return ".".join(map(str, octets)) if max(octets) <= 255 else None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_cidr_sloppy(text: str) -> str | None:
    """The network kube-proxy reads in ``text`` (ParseCIDRSloppy: a sloppy address and a decimal
    prefix length, host bits cleared), canonical, or None."""
    addr, slash, bits = text.partition("/")
    ip = parse_ip_sloppy(addr)
    if ip is None or not slash or not bits.isascii() or not bits.isdigit():
        return None
    try:
        return str(ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False))
    except ValueError:
        return None


def dns_label_error(name: str) -> str | None:
    if len(name) > 63 or not _DNS1123_LABEL.fullmatch(name):
        return f"{name!r} is not a valid DNS-1123 label"
    return None


def dns_subdomain_error(name: str) -> str | None:
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        return (f"{name!r} is not a valid DNS-1123 subdomain (lowercase letters, digits, '-' and "
                "'.', at most 253 characters, starting and ending with a letter or digit)")
    return None


def dns1035_label_error(name: str) -> str | None:
    if len(name) > 63 or not _DNS1035_LABEL.fullmatch(name):
        return (f"{name!r} is not a valid DNS-1035 label (lowercase letters, digits and '-', at "
                "most 63 characters, starting with a letter and ending with a letter or digit)")
    return None


def path_segment_error(name: str) -> str | None:
    """apimachinery's IsValidPathSegmentName, which RBAC names use (``system:...`` is valid),
    plus what no API server stores in any name: control characters."""
    if name in (".", "..") or "/" in name or "%" in name:
        return f"{name!r} may not be '.' or '..' and may not contain '/' or '%'"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return f"{name!r} contains a control character"
    return None


# metadata.name as each kind's registry validates it (pkg/apis/*/validation): Services are
# DNS-1035 labels (their name is a DNS label and an env var prefix), Namespaces DNS-1123 labels,
# RBAC objects path segments, everything else, custom resources included, DNS-1123 subdomains.
_NAME_RULES = {"Service": dns1035_label_error, "Namespace": dns_label_error,
               "Role": path_segment_error, "ClusterRole": path_segment_error,
               "RoleBinding": path_segment_error, "ClusterRoleBinding": path_segment_error}


_TOLERATED = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")


def name_is_tolerable(name: str) -> bool:
    """Invalid, but harmless anywhere podnet puts a name (no separator, space, quote or control
    character): upstream test corpora carry such names (netpol-analyzer's has policies named
    with underscores), so they are read with a warning rather than refused."""
    return _TOLERATED.fullmatch(name) is not None


def object_name_error(kind: str, name: str, generated: bool = False) -> str | None:
    """Why ``name`` is not a valid metadata.name for ``kind``. A generateName prefix is checked
    as the API server checks it: as if a suffix followed its trailing dash."""
    if generated and name.endswith("-"):
        name += "x"
    return _NAME_RULES.get(kind, dns_subdomain_error)(name)
