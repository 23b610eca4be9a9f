"""Real HTTP(S) requests from inside a lab namespace (the ``external`` client, or a pod), to an
ingress controller: the status, the redirect, and which pod answered with what it saw.

The socket is made inside the namespace (the thread enters it, connects, and comes back), so
many requests run at once from a thread pool. Server certificates are not verified (the lab's
CA signs them, and the controller's fake certificate is part of what is being tested); a
client certificate is sent when asked for."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from podnet.lab.nsenter import inside


@dataclass(frozen=True, slots=True)
class HttpAsk:
    netns: str
    ip: str  # where to connect
    port: int
    scheme: str
    host: str  # the Host header
    path: str  # with the query
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body_bytes: int = 0
    send_body: bool = True  # False: announce Content-Length only (nginx answers 413 first)
    client_cert: tuple[str, str] | None = None  # (certificate, key) files
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int | None  # None: no HTTP answer (see error)
    location: str | None = None
    pod: str | None = None  # the workload's name, when a pod answered
    seen: dict[str, object] = field(default_factory=dict)  # what the pod received
    error: str = ""


def _connect(ask: HttpAsk) -> socket.socket:
    with inside(ask.netns):
        return socket.create_connection((ask.ip, ask.port), timeout=ask.timeout)


def fetch(ask: HttpAsk) -> HttpAnswer:
    try:
        sock = _connect(ask)
    except OSError as e:
        return HttpAnswer(None, error=f"connect: {e}")
    try:
        if ask.scheme == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if ask.client_cert is not None:
                ctx.load_cert_chain(*ask.client_cert)
            sock = ctx.wrap_socket(sock, server_hostname=ask.host)
        conn = http.client.HTTPConnection(ask.host, ask.port, timeout=ask.timeout)
        conn.sock = sock  # already connected from inside the namespace
        headers = {"Host": ask.host, **dict(ask.headers)}
        if ask.body_bytes and not ask.send_body:
            headers["Content-Length"] = str(ask.body_bytes)
            conn.putrequest(ask.method, ask.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
        else:
            body = b"x" * ask.body_bytes if ask.body_bytes else None
            conn.request(ask.method, ask.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        pod, seen = None, {}
        if r.getheader("Content-Type") == "application/json":
            try:
                seen = json.loads(data)
                pod = seen.get("pod")
            except ValueError:
                pass
        return HttpAnswer(r.status, r.getheader("Location"), pod, seen)
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        return HttpAnswer(None, error=f"{type(e).__name__}: {e}")
    finally:
        sock.close()


def fetch_all(asks: list[HttpAsk], parallel: int = 32) -> list[HttpAnswer]:
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(asks)))) as pool:
        return list(pool.map(fetch, asks))
