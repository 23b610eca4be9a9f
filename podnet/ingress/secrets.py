"""The Secrets an Ingress names: TLS certificates and client-certificate CAs.

ingress-nginx reads a Secret's keys, not its type: ``tls.crt`` + ``tls.key`` make a server
certificate, ``ca.crt`` a CA for ``auth-tls``. A TLS Secret that is missing or holds no
certificate leaves the host on the controller's self-signed "Kubernetes Ingress Controller
Fake Certificate" (``controller.go``, ``createServers``: "Using default certificate").
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from podnet.model.cluster import Cluster
from podnet.model.objects import Other

FAKE_CERT = "the controller's fake certificate"


def index(cluster: Cluster) -> Mapping[str, Other]:
    return {f"{o.namespace}/{o.name}": o for o in (*cluster.configs, *cluster.ignored)
            if o.kind == "Secret"}


def _value(secret: Other, key: str) -> bytes | None:
    """One key of the Secret, decoded; None when absent or not base64."""
    string_data = secret.body.get("stringData") or {}
    if isinstance(string_data, Mapping) and key in string_data:
        return str(string_data[key]).encode()
    data = secret.body.get("data") or {}
    if not isinstance(data, Mapping) or key not in data:
        return None
    try:
        return base64.b64decode(str(data[key]), validate=True)
    except (binascii.Error, ValueError):
        return None


def _has(secret: Other, key: str) -> bool:
    string_data = secret.body.get("stringData") or {}
    data = secret.body.get("data") or {}
    return ((isinstance(string_data, Mapping) and key in string_data)
            or (isinstance(data, Mapping) and key in data))


def tls_problem(secrets: Mapping[str, Other], key: str) -> str:
    """Why the Secret ``ns/name`` gives no server certificate ("" when it does)."""
    secret = secrets.get(key)
    if secret is None:
        return f"Secret {key} is not in the input"
    for k in ("tls.crt", "tls.key"):
        if not _has(secret, k):
            kind = str(secret.body.get("type") or "Opaque")
            return f"Secret {key} (type {kind}) has no {k}"
    cert = _value(secret, "tls.crt")
    if cert is None:
        return f"Secret {key}: tls.crt is not valid base64"
    if b"-----BEGIN CERTIFICATE-----" not in cert:
        return f"Secret {key}: tls.crt holds no PEM certificate"
    return ""


def ca_problem(secrets: Mapping[str, Other], key: str) -> tuple[bool, str]:
    """(exists, why it holds no usable CA or "")."""
    secret = secrets.get(key)
    if secret is None:
        return False, f"Secret {key} is not in the input"
    if not _has(secret, "ca.crt"):
        return True, f"Secret {key} has no ca.crt: mutual authentication is disabled"
    ca = _value(secret, "ca.crt")
    if ca is None or b"-----BEGIN CERTIFICATE-----" not in ca:
        return False, f"Secret {key}: ca.crt holds no PEM certificate"
    return True, ""
