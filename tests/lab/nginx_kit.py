"""What the lab's nginx tests share: a rendered configuration checked by the real ``nginx -t``
with a certificate for every host it names, as the lab writes them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from podnet.lab import tls


def nginx_t(home: Path, conf: str, cert_hosts: Iterable[tuple[str, tuple[str, ...]]],
            client_ca: bool = False) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` of ``conf`` in ``home``, after writing a pair for each (stem, hosts), the
    catch-all ``certs/fake`` and, with ``client_ca``, the CA that signed them as the client CA."""
    (home / "certs").mkdir(exist_ok=True)
    ca = tls.make_ca("t")
    for stem, hosts in (*cert_hosts, ("certs/fake", ("fake",))):
        pair = tls.server_cert(ca, list(hosts))
        (home / f"{stem}.crt").write_bytes(pair.cert)
        (home / f"{stem}.key").write_bytes(pair.key)
    if client_ca:
        (home / "certs" / "client-ca.crt").write_bytes(ca.cert)
    (home / "nginx.conf").write_text(conf)
    return subprocess.run(["nginx", "-t", "-p", str(home), "-e", str(home / "error.log"),
                           "-c", str(home / "nginx.conf")], capture_output=True, text=True)
