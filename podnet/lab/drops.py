"""Read the policy ruleset's record of dropped connections (``podnet.policy.nft``'s ``dropped``
set) in each node, so the prober can call a probe denied as soon as the kernel dropped its
first packet instead of waiting out its timeout.

libnftables is called in-process (ctypes), from this thread while it is inside the node's
namespace: ``nft`` through ``ip netns exec`` costs 50-60 ms a call on this machine, a library
call about one. Without the library the watcher reads nothing and every denied probe waits for
its timeout, as before: the verdict is the same, only slower.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Iterable

from podnet.lab.nsenter import inside
from podnet.policy.nft import DROP_SET, TABLE

Key = tuple[str, str, str, int]  # source IP, destination IP, protocol (tcp/udp/sctp), port

_PROTO_NUMBERS = {6: "tcp", 17: "udp", 132: "sctp"}
NFT_CTX_OUTPUT_JSON = 1 << 4


def _library() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL("libnftables.so.1")
    except OSError:
        return None
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
    lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return lib


def parse_elements(data: object) -> set[Key]:
    """The set's elements from ``nft -j list set`` output (with or without expiry fields)."""
    out: set[Key] = set()
    if not isinstance(data, dict):
        return out
    for item in data.get("nftables", []):
        body = item.get("set") if isinstance(item, dict) else None
        if not isinstance(body, dict):
            continue
        for elem in body.get("elem", []):
            if isinstance(elem, dict) and "elem" in elem:  # {"elem": {"val": ..., "expires": n}}
                elem = elem["elem"].get("val", elem["elem"])
            parts = elem.get("concat") if isinstance(elem, dict) else None
            if not isinstance(parts, list) or len(parts) != 4:
                continue
            src, dst, proto, port = parts
            proto = _PROTO_NUMBERS.get(proto, proto) if isinstance(proto, int) else proto
            out.add((str(src), str(dst), str(proto), int(port)))
    return out


class DropWatch:
    """One libnftables context per node namespace; ``read()`` returns every recorded drop."""

    def __init__(self, node_netns: Iterable[str]) -> None:
        self._lib = _library()
        self._ctx: dict[str, int] = {}
        if self._lib is None:
            return
        for ns in node_netns:
            with inside(ns):  # the context's netlink socket belongs to the node
                ctx = self._lib.nft_ctx_new(0)
            if not ctx:
                continue
            self._lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
            self._lib.nft_ctx_buffer_output(ctx)
            self._lib.nft_ctx_buffer_error(ctx)
            self._ctx[ns] = ctx

    @property
    def active(self) -> bool:
        return bool(self._ctx)

    def _run(self, ns: str, cmd: str) -> str | None:
        assert self._lib is not None
        with inside(ns):
            if self._lib.nft_run_cmd_from_buffer(self._ctx[ns], cmd.encode()) != 0:
                return None  # no such set (rules podnet did not load, or an older lab)
            out = self._lib.nft_ctx_get_output_buffer(self._ctx[ns])
        return out.decode() if out else ""

    def flush(self) -> None:
        """Forget earlier runs' drops: a record must come from this run's packet."""
        for ns in list(self._ctx):
            if self._run(ns, f"flush set inet {TABLE} {DROP_SET}") is None:
                self._free(ns)

    def read(self) -> set[Key]:
        seen: set[Key] = set()
        for ns in list(self._ctx):
            text = self._run(ns, f"list set inet {TABLE} {DROP_SET}")
            if text:
                seen |= parse_elements(json.loads(text))
        return seen

    def _free(self, ns: str) -> None:
        assert self._lib is not None
        self._lib.nft_ctx_free(self._ctx.pop(ns))

    def close(self) -> None:
        for ns in list(self._ctx):
            self._free(ns)

    def __enter__(self) -> DropWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
