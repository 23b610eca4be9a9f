"""A real etcd on this disk: started in a fresh directory on free loopback ports, given keys
through its v3 JSON gateway, scraped once, stopped, and its directory removed, whatever
happens in between."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from podnet.errors import HostError, HostPrerequisiteError

PREFIX = ".podnet-etcd-"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class EtcdRun:
    version: str
    puts: int
    seconds: float  # wall time of the puts
    metrics: str  # one scrape of /metrics after the puts


def etcd_binary() -> str:
    path = shutil.which("etcd")
    if path is None:
        raise HostPrerequisiteError(
            "disk --etcd: no etcd on PATH (Debian: apt-get install etcd-server; `make install` "
            "as root installs it)")
    return path


def _free_ports(n: int) -> list[int]:
    """n distinct loopback ports the kernel calls free (held together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _request(port: int, method: str, path: str, body: bytes | None = None,
             conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if conn is None:
            c.close()


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HostError("disk --etcd", f"etcd exited with {proc.returncode} while starting: "
                                           f"{_log_tail(log)}")
        try:
            status, body = _request(port, "GET", "/health")
            if status == 200 and json.loads(body).get("health") == "true":
                return
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise HostError("disk --etcd", f"etcd was not healthy after {START_TIMEOUT:g} s: {_log_tail(log)}")


def _put_keys(port: int, puts: int, value_size: int) -> float:
    """``puts`` sequential puts of ``value_size``-byte values (etcd fsyncs its WAL for each)."""
    value = base64.b64encode(os.urandom(value_size)).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.monotonic()
    try:
        for i in range(puts):
            key = base64.b64encode(f"/podnet-disk/{i:08d}".encode()).decode()
            body = json.dumps({"key": key, "value": value}).encode()
            status, answer = _request(port, "POST", "/v3/kv/put", body, conn)
            if status != 200:
                raise HostError("disk --etcd", f"put {i} answered HTTP {status}: "
                                               f"{answer[:200].decode(errors='replace')}")
    except (OSError, http.client.HTTPException) as e:
        raise HostError("disk --etcd", f"put to etcd failed: {e}") from e
    finally:
        conn.close()
    return time.monotonic() - t0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to etcd's own process group (it was started in a new session), SIGKILL if it
    has not exited in STOP_TIMEOUT."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


@contextmanager
def _signals_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP raise inside the run instead of ending the process on the spot, so
    the cleanup below still stops etcd and removes its directory (Ctrl-C already raises)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def unwind(signum: int, _frame: object) -> None:
        raise HostError("disk --etcd", f"interrupted by {signal.Signals(signum).name}")

    saved = {s: signal.signal(s, unwind) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def run_etcd(directory: Path, puts: int, value_size: int) -> EtcdRun:
    with _signals_unwind():
        return _run_etcd(directory, puts, value_size)


def _run_etcd(directory: Path, puts: int, value_size: int) -> EtcdRun:
    """Start etcd with its data dir in a new temporary directory under ``directory``, put keys,
    scrape /metrics, stop it and remove the directory (also when any step fails)."""
    binary = etcd_binary()
    if not directory.is_dir():
        raise HostError("disk --etcd", f"{directory}: not a directory")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=10).stdout.split("\n", 1)[0].removeprefix("etcd Version: ")
    try:
        work = Path(tempfile.mkdtemp(prefix=PREFIX, dir=directory))
    except OSError as e:
        raise HostError("disk --etcd", f"cannot create a directory in {directory}: {e.strerror}") from e
    proc: subprocess.Popen[bytes] | None = None
    try:
        client, peer = _free_ports(2)
        log = work / "etcd.log"
        c_url, p_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        argv = [binary, "--name", "podnet-disk", "--data-dir", str(work / "data"),
                "--listen-client-urls", c_url, "--advertise-client-urls", c_url,
                "--listen-peer-urls", p_url, "--initial-advertise-peer-urls", p_url,
                "--initial-cluster", f"podnet-disk={p_url}", "--initial-cluster-state", "new"]
        # A clean environment: ETCD_* variables of the caller would silently reconfigure it.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=work, env=env,
                                    start_new_session=True)
        _wait_healthy(proc, client, log)
        seconds = _put_keys(client, puts, value_size)
        status, metrics = _request(client, "GET", "/metrics")
        if status != 200:
            raise HostError("disk --etcd", f"/metrics answered HTTP {status}")
        return EtcdRun(version, puts, seconds, metrics.decode(errors="replace"))
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(work, ignore_errors=True)
