"""Output reaches stdout whole or the command fails: chunked writes resume after short
writes, and a write that fails or stops (a full disk) is an error, never exit 0."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podnet.cli import output
from podnet.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
OSLO = str(ROOT / "examples" / "oslo")


class Trickle(io.RawIOBase):
    """A raw stream that takes at most ``most`` bytes per write, as a pipe or a write past
    Linux's 0x7ffff000-byte cap does; after ``stop_after`` bytes it takes nothing more."""

    def __init__(self, most: int, stop_after: int | None = None) -> None:
        self.most, self.stop_after = most, stop_after
        self.data = bytearray()
        self.sizes: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self.most)
        if self.stop_after is not None:
            n = min(n, self.stop_after - len(self.data))
        self.data += bytes(b[:n])
        self.sizes.append(len(b))
        return n


def test_short_writes_are_resumed_until_every_byte_is_out(monkeypatch):
    monkeypatch.setattr(output, "CHUNK", 64)
    data = bytes(range(256)) * 10
    raw = Trickle(most=7)
    output.write_all(raw, data)
    assert bytes(raw.data) == data
    assert max(raw.sizes) <= 64  # never more than one chunk per call


def test_a_stream_that_stops_taking_bytes_is_an_error():
    raw = Trickle(most=1000, stop_after=2500)
    with pytest.raises(OutputError, match="after 2,500 of 10,000 bytes"):
        output.write_all(raw, b"x" * 10_000)


def test_the_writer_sends_text_through_the_bytes_layer_in_chunks(monkeypatch):
    monkeypatch.setattr(output, "CHUNK", 50)
    raw = Trickle(most=13)
    text = io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=8), encoding="utf-8")
    text.write("before;")  # printed earlier through the text layer: must come first
    w = output.Writer(text)
    lines = [f"line {i} ✓" for i in range(40)]
    for line in lines:
        w.write(line + "\n")
    w.close()
    assert raw.data.decode() == "before;" + "".join(f"{x}\n" for x in lines)


def podnet_to(stdout: str, *args: str, unbuffered: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})}
    with open(stdout, "w") as out:
        return subprocess.run([sys.executable, "-m", "podnet", *args], stdout=out,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=120)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
@pytest.mark.parametrize("args", [
    ("reach", "-f", OSLO, "-o", "json"),
    ("reach", "-f", OSLO, "-o", "json-classes"),
    ("reach", "-f", OSLO, "-o", "csv"),
    ("services", "-f", OSLO, "--render", "iptables"),
    ("reach", "-f", OSLO, "--ports", "8080/TCP"),  # a rich table, through the text layer
], ids=["json", "json-classes", "csv", "render", "table"])
def test_a_full_disk_fails_the_command_with_one_clear_line(args, unbuffered):
    r = podnet_to("/dev/full", *args, unbuffered=unbuffered)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("podnet: error: writing the output failed: No space left on "
                               "device")
    assert r.stderr.count("\n") == 1, r.stderr  # one line
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


def test_the_same_commands_succeed_into_a_file(tmp_path):
    r = podnet_to(str(tmp_path / "out.json"), "reach", "-f", OSLO, "-o", "json", unbuffered=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.json").read_text().endswith("]]}}\n")
