"""The lab's certificates: one CA per lab, a server certificate per TLS host set, client
certificates for `auth-tls` probes. Made at `lab up`, kept 0600 in the lab's directory, gone
with it. An Ingress TLS Secret from the input that holds a real certificate and key is used as
it is (the lab's state keeps no Secret values: the pair is written here, privately)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Pair:
    cert: bytes  # PEM
    key: bytes  # PEM


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: str, issuer: x509.Name, public: ec.EllipticCurvePublicKey
             ) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY).not_valid_after(now + 30 * _DAY))


def make_ca(lab: str) -> Pair:
    key = _key()
    name = f"podnet lab {lab} CA"
    cert = (_builder(name, _name(name), key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .sign(key, hashes.SHA256()))
    return Pair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _issue(ca: Pair, subject: str, extensions: list[tuple[x509.ExtensionType, bool]]) -> Pair:
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key, None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = _key()
    b = _builder(subject, ca_cert.subject, key.public_key())
    for ext, critical in extensions:
        b = b.add_extension(ext, critical=critical)
    return Pair(b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM),
                _pem_key(key))


def server_cert(ca: Pair, hosts: list[str]) -> Pair:
    """A certificate for ``hosts`` (``*.`` wildcards and IP addresses allowed)."""
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    return _issue(ca, hosts[0] if hosts else "podnet", [
        (x509.SubjectAlternativeName(sans), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)])


def client_cert(ca: Pair, cn: str) -> Pair:
    return _issue(ca, cn, [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)])


def usable_pair(cert: bytes, key: bytes) -> bool:
    """A Secret's tls.crt/tls.key that parse as a certificate and its key."""
    try:
        c = x509.load_pem_x509_certificate(cert)
        k = serialization.load_pem_private_key(key, None)
    except (ValueError, TypeError):
        return False
    return c.public_key().public_numbers() == k.public_key().public_numbers()  # type: ignore[union-attr]
