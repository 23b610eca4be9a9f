"""Rendering result data for people (rich tables) and programs (json, csv, dot), and the one
way program output reaches stdout: in chunks, each write checked.

A single ``write()`` of a huge string is not safe: Linux moves at most 0x7ffff000 bytes per
call, and an unbuffered stdout (``PYTHONUNBUFFERED=1``) hands the text layer's write straight
to the file, whose short count the text layer drops. So output is encoded and written in
chunks of ``CHUNK`` bytes, a short write is resumed where it stopped, and a write that fails
or makes no progress raises ``OutputError`` (exit non-zero, one line on stderr)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from podnet.errors import OutputError

if TYPE_CHECKING:
    from rich.console import Console

CHUNK = 1 << 20  # bytes per write(): far below any kernel cap, large enough to cost nothing


class RawStream(Protocol):
    def write(self, data: memoryview, /) -> int | None: ...


class CheckedStdout:
    """stdout for rich: its writes fail as ``OutputError`` (rich lets ``OSError`` through)."""

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: stdout's own
        return getattr(sys.stdout, name)

    def write(self, s: str) -> int:
        try:
            return sys.stdout.write(s)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _failed(e.strerror or str(e)) from None

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _failed(e.strerror or str(e)) from None


def console() -> Console:
    """A console for tables: fixed width and no colour when not on a terminal (tests, pipes)."""
    from rich.console import Console

    file: Any = CheckedStdout()
    if sys.stdout.isatty():
        return Console(file=file)
    return Console(file=file, width=_width(), color_system=None, force_terminal=False,
                   highlight=False, soft_wrap=True)


def _width() -> int:
    """The width off a terminal: COLUMNS, else 120 (a COLUMNS that is no number fails)."""
    return int(os.environ.get("COLUMNS", "120"))


# What rich's ``print`` would change in a line when stdout is no terminal (``console()``'s
# settings: no colour, no highlighting, soft wrap): markup tags (``[`` then a letter, ``#``,
# ``/`` or ``@``, as rich's markup.RE_TAGS; ``ingress[0]`` is none), an escaped bracket
# (``\[`` prints ``[``), emoji codes ``:name:``, trailing spaces past the width (and, below,
# the control codes it strips).
_RICH_WOULD_CHANGE = re.compile(r"\[[a-z#/@]|\\\[|:\S*:|\s$")


def print_lines(lines: list[str]) -> None:
    """Lines of text for people, as ``console().print`` of each prints them, byte for byte;
    without importing rich (a tenth of a repeated ``explain``) when stdout is not a terminal
    and no line holds anything rich would render differently (then rich prints them all)."""
    if sys.stdout.isatty() or not all(line.isprintable() and not _RICH_WOULD_CHANGE.search(line)
                                      for line in lines):
        c = console()
        for line in lines:
            c.print(line)
        return
    _width()  # what console() would refuse is refused here too
    out = CheckedStdout()
    out.write("".join(line + "\n" for line in lines))
    out.flush()


def _failed(why: str) -> OutputError:
    return OutputError(f"writing the output failed: {why}")


def write_all(stream: RawStream, data: bytes) -> None:
    """Write every byte of ``data``, at most ``CHUNK`` per call, resuming after short writes."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        try:
            n = stream.write(view[done:done + CHUNK])
        except BrokenPipeError:  # the reader left (`| head`): handled as before, in cli/app.py
            raise
        except OSError as e:
            raise _failed(f"{e.strerror or e} after {done:,} of {len(view):,} bytes") from None
        if not n:  # 0 or None (would block): the stream takes no more, and looping would spin
            raise _failed(f"the stream accepted nothing after {done:,} of {len(view):,} bytes")
        done += n


class Writer:
    """Text to stdout, gathered into chunks and written with ``write_all``."""

    def __init__(self, text_stream: Any = None) -> None:
        self.text = text_stream if text_stream is not None else sys.stdout
        self.encoding = getattr(self.text, "encoding", None) or "utf-8"
        self.errors = getattr(self.text, "errors", None) or "strict"
        self.raw = getattr(self.text, "buffer", None)
        self.parts: list[str] = []
        self.size = 0
        self._flush_text()  # what was printed before goes out first

    def _flush_text(self) -> None:
        try:
            self.text.flush()
        except OSError as e:
            raise _failed(e.strerror or str(e)) from None

    def write(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)
        if self.size >= CHUNK:
            self._drain()

    def _drain(self) -> None:
        s = "".join(self.parts)
        self.parts.clear()
        self.size = 0
        if self.raw is None:  # a text-only stream (a test's StringIO): no bytes layer to check
            for start in range(0, len(s), CHUNK):
                self.text.write(s[start:start + CHUNK])
            return
        write_all(self.raw, s.encode(self.encoding, self.errors))

    def close(self) -> None:
        self._drain()
        if self.raw is not None:
            try:
                self.raw.flush()
            except OSError as e:
                raise _failed(e.strerror or str(e)) from None
        else:
            self._flush_text()


def emit_text(text: str) -> None:
    out = Writer()
    for start in range(0, len(text), CHUNK):
        out.write(text[start:start + CHUNK])
    out.close()


def emit_json(data: Any) -> None:
    emit_text(json.dumps(data, indent=None, separators=(",", ": ")) + "\n")


def emit_lines(lines: Iterable[str]) -> None:
    """One line each, streamed: no string of the whole output is built."""
    out = Writer()
    for line in lines:
        out.write(line)
        out.write("\n")
    out.close()


def emit_pieces(pieces: Iterable[str]) -> None:
    """Text made in pieces (each any size), streamed: no string of the whole output is built."""
    out = Writer()
    for piece in pieces:
        out.write(piece)
    out.close()
