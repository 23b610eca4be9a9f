"""The API server's validation rules that matter to network semantics (names, labels, ports, CIDRs)."""

from __future__ import annotations

import ipaddress
import re

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def label_key_error(key: str) -> str | None:
    """Return why ``key`` is not a valid label key (apimachinery IsQualifiedName), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return f"label key {key!r}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return (f"label key {key!r}: name must be 63 characters or less, alphanumeric, '-', "
                "'_' or '.', starting and ending with an alphanumeric character")
    return None


def label_value_error(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63 or not _LABEL_NAME.match(value):
        return (f"label value {value!r} must be 63 characters or less, alphanumeric, '-', '_' "
                "or '.', starting and ending with an alphanumeric character")
    return None


def port_name_error(name: str) -> str | None:
    """IANA_SVC_NAME rules used by named ports."""
    if len(name) > 15:
        return f"port name {name!r} is longer than 15 characters"
    if not _PORT_NAME.match(name) or "--" in name:
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


def dns_label_error(name: str) -> str | None:
    if len(name) > 63 or not _DNS1123_LABEL.match(name):
        return f"{name!r} is not a valid DNS-1123 label"
    return None
