"""The lab's workload server (podnet/lab/workload.py) on a loopback socket: what the probe, an
ingress controller and `lab curl` get from a pod, however their bytes are split."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from podnet.lab import workload

NAME = b"team0/api-0\n"


def _served(client: Callable[[int], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        loop.add_reader(listener.fileno(), workload._accepting(loop, listener, NAME))
        try:
            got = await client(listener.getsockname()[1])
        finally:
            loop.remove_reader(listener.fileno())
            listener.close()
        assert not errors, errors
        return got
    return asyncio.run(run())


async def _exchange(port: int, *chunks: bytes, pause: float = 0.02, shut: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(pause)
    if shut:
        writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


def _http(data: bytes) -> dict[str, Any]:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    assert len(body) == length
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_the_probes_line_gets_the_pods_name_at_once() -> None:
    async def client(port: int) -> tuple[bytes, float]:
        start = time.monotonic()
        return await _exchange(port, b"?\n"), time.monotonic() - start
    data, took = _served(client)
    assert data == NAME
    assert took < workload.HELLO_WAIT


def test_a_silent_client_gets_the_name_after_the_wait() -> None:
    async def client(port: int) -> tuple[bytes, float]:
        start = time.monotonic()
        return await _exchange(port), time.monotonic() - start
    data, took = _served(client)
    assert data == NAME
    assert took >= workload.HELLO_WAIT * 0.9


def test_a_line_cut_short_by_the_clients_end_still_gets_the_name() -> None:
    assert _served(lambda port: _exchange(port, b"hel", shut=True)) == NAME


def test_a_connect_only_probe_leaves_the_server_serving() -> None:
    async def client(port: int) -> bytes:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port))
            s.close()
        return await _exchange(port, b"?\n")
    assert _served(client) == NAME


@pytest.mark.parametrize("chunks", [
    (b"GET /shop?q=1 HTTP/1.1\r\nHost: shop.example\r\nX-Canary: always\r\n\r\n",),
    (b"GET /shop?q=1 HT", b"TP/1.1\r\nHost: shop.exa", b"mple\r\nX-Canary: always\r\n", b"\r\n"),
    (b"GET /shop?q=1 HTTP/1.1\nHost: shop.example\nX-Canary: always\n\n",),
], ids=["one-segment", "split-everywhere", "bare-newlines"])
def test_an_http_request_gets_json_naming_the_pod_and_what_it_saw(chunks: tuple[bytes, ...]) -> None:
    answer = _http(_served(lambda port: _exchange(port, *chunks)))
    assert answer == {"pod": "team0/api-0", "method": "GET", "path": "/shop?q=1",
                      "headers": {"host": "shop.example", "x-canary": "always"}, "bodyBytes": 0}


def test_an_http_body_is_read_to_its_length_before_the_answer() -> None:
    body = b"x" * 100_000
    head = f"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    answer = _http(_served(lambda port: _exchange(port, head + body[:10], body[10:70_000],
                                                  body[70_000:])))
    assert (answer["method"], answer["bodyBytes"]) == ("POST", len(body))


def test_an_http_answer_waits_for_a_body_still_on_its_way() -> None:
    head = b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"

    async def client(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + b"ab")
        await writer.drain()
        with pytest.raises(TimeoutError):  # two bytes of five: no answer yet
            await asyncio.wait_for(reader.read(1), 0.3)
        writer.write(b"cde")
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return data
    assert _http(_served(client))["bodyBytes"] == 5
