"""ingress-nginx's annotation value validators (``internal/ingress/annotations/parser/
validators.go``), the Go regular expressions rewritten for Python's ``re``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_ALNUM = r"\-\._~a-zA-Z0-9/:"
IS_VALID_REGEX = re.compile(r"^[/" + _ALNUM + r"\^\$\[\]\(\)\{\}\*\+\?\|&=\\]*$")
SIZE = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE | re.ASCII)
URL_IS_VALID = re.compile(r"^[" + _ALNUM + r",:\?&=]*$")
BASIC_CHARS = re.compile(r"^[/" + _ALNUM + r"]*$")
REGEX_PATH_WITH_CAPTURE = re.compile(r"^/?[" + _ALNUM + r"/\$]*$")
MALICIOUS = re.compile(r"\r|\n")
AUTH_VERIFY_CLIENT = re.compile(r"^(on|off|optional|optional_no_ca)$")
CORS_ORIGIN_VALIDATOR = re.compile(
    r"^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$")
CORS_ORIGIN = re.compile(r"^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$")

Validator = Callable[[str], str]  # returns why the value is invalid, or ""


def regex(pattern: re.Pattern[str], remove_space: bool) -> Validator:
    def check(value: str) -> str:
        s = value.replace(" ", "") if remove_space else value
        if not pattern.fullmatch(s):
            return "not allowed by the annotation's character set"
        if MALICIOUS.search(s):
            return "contains a line break"
        return ""
    return check


def boolean(value: str) -> str:
    ok = value in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
    return "" if ok else "not a boolean"


def integer(value: str) -> str:
    # Go's strconv.Atoi: an optional sign and ASCII digits, no spaces, no unit
    return "" if re.fullmatch(r"[+-]?[0-9]+", value) else "not an integer (no unit: seconds)"


def options(allowed: tuple[str, ...], case_sensitive: bool) -> Validator:
    def check(value: str) -> str:
        s = value.strip() if case_sensitive else value.strip().lower()
        return "" if s in allowed else f"not one of {', '.join(allowed)}"
    return check


def cidrs(value: str) -> str:
    for part in value.split(","):
        spec = part.strip()
        try:
            ipaddress.ip_network(spec, strict=False) if "/" in spec else ipaddress.ip_address(spec)
        except ValueError:
            return f"{spec!r} is not an IP address or CIDR"
    return ""


def server_names(value: str) -> str:
    for name in value.split(","):
        if not IS_VALID_REGEX.fullmatch(name.strip()):
            return f"{name.strip()!r} is not a valid server name"
    return ""


def parse_cidrs(value: str) -> tuple[str, ...]:
    """ingress-nginx's ParseCIDRs: networks normalised, single addresses kept, sorted."""
    out = set()
    for part in value.split(","):
        spec = part.strip()
        if "/" in spec:
            out.add(str(ipaddress.ip_network(spec, strict=False)))
        else:
            out.add(str(ipaddress.ip_address(spec)))
    return tuple(sorted(out))
