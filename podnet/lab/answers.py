"""A socket filter (classic BPF, SO_ATTACH_FILTER) that lets a prober's raw TCP socket receive
only the answers to its SYNs: a SYN-ACK or a reset whose acknowledgement number is the probes'
sequence number plus one.

Why: a raw TCP socket receives every TCP packet that reaches its namespace. In a 200-pod probe
that is about 16,000 packets no probe waits for (the other pods' SYNs to this one, the resets
its own kernel sends back), each a wake-up, a receive and a look in Python. The kernel drops
them before they are queued. Python's socket module takes the filter as bytes but the kernel
wants a pointer to it, so the program's address comes from ctypes.
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = 26
# classic BPF opcodes (linux/filter.h)
_LDX_B_MSH = 0xB1  # X = 4 * (byte at k & 0x0f): the IP header's length
_LD_W_IND, _LD_B_IND = 0x40, 0x50  # A = word / byte at X + k
_JEQ_K, _JSET_K = 0x15, 0x45
_AND_K = 0x54
_RET_K = 0x06
_INSN = struct.Struct("=HBBI")


def program(ack: int) -> bytes:
    """The filter: accept a TCP segment acknowledging ``ack`` with RST, or with SYN and ACK."""
    insns = [
        (_LDX_B_MSH, 0, 0, 0),
        (_LD_W_IND, 0, 0, 8),            # acknowledgement number
        (_JEQ_K, 0, 5, ack),             # not ours: drop
        (_LD_B_IND, 0, 0, 13),           # flags
        (_JSET_K, 2, 0, 0x04),           # RST: accept
        (_AND_K, 0, 0, 0x12),
        (_JEQ_K, 0, 1, 0x12),            # SYN and ACK: accept, else drop
        (_RET_K, 0, 0, 0xFFFF),
        (_RET_K, 0, 0, 0),
    ]
    return b"".join(_INSN.pack(*i) for i in insns)


def attach(sock: socket.socket, ack: int) -> None:
    """Let ``sock`` (a raw IPv4 TCP socket) receive only answers acknowledging ``ack``."""
    code = program(ack)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HP", len(code) // _INSN.size, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)  # the kernel copies the program
