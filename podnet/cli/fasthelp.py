"""Help and usage without typer: ``podnet``, ``podnet --help``, ``podnet lab up --help``.

Importing typer (and, for any subcommand, pydantic) costs ten times a bare interpreter's start
(docs/benchmarks.md, "Start-up"), all of it to print text that only changes with the code. So
``podnet.cli.helpgen`` renders every help screen through the real typer app ahead of time into
``podnet/cli/helptexts.py``, and this module prints the stored text when it is exactly what
typer would print now:

- the command line is one the table holds, byte for byte (a group's name alone, or a command
  path and its help option); anything else goes to typer unchanged;
- click would wrap at the width the table was rendered at: click's width is
  ``max(min(columns, 80) - 2, 50)`` with ``columns`` from ``shutil.get_terminal_size()`` (whose
  rule ``columns()`` repeats: ``COLUMNS``, else the tty, else 80), so a table rendered at 80
  columns serves any terminal at least that wide, and a pipe (which counts as 80);
- the sources the table was rendered from are the ones installed (a checksum of every podnet
  module the rendering loaded and of typer's ``__init__``), so a command added without
  regenerating the table is answered by typer, never by a stale screen.

The few commands whose whole output is fixed by the code (``STATIC``: ``doctor --list``) are
stored the same way, each with the sources its rendering loaded.

This module imports only what a bare interpreter has loaded already, plus ``zlib``;
tests/test_fasthelp.py checks that no typer, click or pydantic module loads.
"""

from __future__ import annotations

import os
import sys

HELP_OPTIONS = ("--help",)
# Commands whose output is fixed by the code (no input, no environment), stored like the help:
# `doctor --list` imports every check module, the analysis code and numpy to print a catalogue.
STATIC = (("doctor", "--list"),)


def _may_be_help(argv: list[str]) -> bool:
    """Cheap pre-check, so a real command does not pay for reading the table."""
    if not argv or argv[-1] in HELP_OPTIONS or tuple(argv) in STATIC:
        return True
    return len(argv) <= 2 and not any(a.startswith("-") for a in argv)


def columns() -> int:
    """``shutil.get_terminal_size().columns``, the width click wraps help to, without importing
    shutil (it loads bz2, lzma and zlib: a third of this path). The same rule: a positive
    integer ``COLUMNS``, else the width of the tty on the original stdout, else 80 (also when the
    tty says 0); tests/test_fasthelp.py compares it with shutil's."""
    try:
        cols = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        cols = 0
    if cols > 0:
        return cols
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]  # None: caught
    except (AttributeError, ValueError, OSError):
        return 80


def fingerprint(files: tuple[str, ...]) -> int | None:
    """Checksum of the given files (paths relative to the ``podnet`` package, or ``typer:NAME``
    for a file of the installed typer); None when one cannot be read."""
    import zlib

    base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    crc = 0
    for name in files:
        if name.startswith("typer:"):
            path = _typer_file(name[len("typer:"):])
            if path is None:
                return None
        else:
            path = os.path.join(base, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        crc = zlib.crc32(name.encode() + b"\0" + data + b"\0", crc)
    return crc


def _typer_file(name: str) -> str | None:
    """Where the typer that would be imported keeps NAME, found without importing it."""
    for entry in sys.path:
        path = os.path.join(entry or ".", "typer", name)
        if os.path.isfile(path):
            return path
    return None


def lookup(argv: list[str]) -> tuple[str, int, str, int] | None:
    """(stream, exit code, text) typer would print for this command line, or None when typer
    must answer it."""
    if not _may_be_help(argv):
        return None
    try:
        from podnet.cli import helptexts
    except ImportError:  # not generated (a bare checkout before `make install`)
        return None
    # NUL cannot occur in an argument, so the joined key is unambiguous
    entry = helptexts.TEXTS.get("\0".join(argv))
    if entry is None:
        return None
    if columns() < helptexts.COLUMNS:
        return None  # click would wrap narrower than the stored text
    stream, code, text, source = entry
    if not text.isascii() and (getattr(sys, stream).encoding or "").lower().replace("-", "") != "utf8":
        return None  # click may re-encode for this stream: let it
    if fingerprint(helptexts.SOURCES[source]) != helptexts.FINGERPRINTS[source]:
        return None
    return entry


def serve(argv: list[str]) -> None:
    """Print the stored answer and exit as typer would; return (printing nothing) when typer
    must answer this command line."""
    found = lookup(argv)
    if found is None:
        return
    stream_name, code, text, _ = found
    stream = getattr(sys, stream_name)
    try:
        stream.write(text)
        stream.flush()
    except OSError as e:
        _discard(stream)
        import errno

        if e.errno == errno.EPIPE:
            sys.exit(1)  # click's own answer to a closed pipe: exit 1, no message
        print(f"podnet: error: writing the output failed: {e.strerror or e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


def _discard(stream: object) -> None:
    """Point the failed stream's fd at /dev/null, so the interpreter's flush at exit does not
    fail again with an 'Exception ignored' message."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, stream.fileno())  # type: ignore[attr-defined]
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass
