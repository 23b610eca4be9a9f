"""Where manifests come from: files, directories and stdin, read as bounded UTF-8 text.

Every read stops one byte past its limit (``podnet.model.limits``), so an endless stream
(``-f - < /dev/zero``) fails at once instead of filling memory. A path that is not a regular
file or directory (a device, a FIFO, a socket, a symlink loop) is named for what it is.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from podnet.errors import InputError, SourceRef
from podnet.model.limits import MAX_FILE_BYTES, MAX_TOTAL_BYTES, mib

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "<stdin>"
_CHUNK = 1 << 20

_NOT_READABLE = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def _error(name: str, message: str) -> InputError:
    return InputError(SourceRef(file=name), "", message)


def _stat_problem(path: str, err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "is a symlink loop (too many levels of symbolic links)"
    if err.errno == errno.ENOENT and os.path.islink(path):
        return f"is a broken symlink (to {os.readlink(path)}, which does not exist)"
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file or directory"
    if err.errno == errno.EACCES:
        return "permission denied"
    return f"cannot read: {err.strerror}"


def what_is(path: str) -> tuple[str, str]:
    """("file" | "dir" | "other", why): what ``path`` is, following symlinks."""
    try:
        st = os.stat(path)
    except OSError as e:
        return "other", _stat_problem(path, e)
    if stat.S_ISREG(st.st_mode):
        return "file", ""
    if stat.S_ISDIR(st.st_mode):
        return "dir", ""
    what = _NOT_READABLE.get(stat.S_IFMT(st.st_mode), "not a regular file")
    return "other", f"is {what}, not a file or directory (give a stream on stdin with -f -)"


def _read_bounded(stream: BinaryIO, name: str, limit: int, total_left: int,
                  size_hint: int = 0) -> bytes:
    """At most ``min(limit, total_left) + 1`` bytes, refusing more and refusing NUL bytes
    (never valid in YAML or JSON text) as soon as a chunk shows one. ``size_hint``: a regular
    file's size, read in one piece (one buffer, no join: half of reading a 9 MB input in
    1 MiB chunks went to those); anything after it is read in chunks as before."""
    cap = min(limit, total_left)
    chunks: list[bytes] = []
    size = 0
    first = max(_CHUNK, size_hint + 1)
    while True:
        chunk = stream.read(min(first if not chunks else _CHUNK, cap + 1 - size))
        if not chunk:
            break
        nul = chunk.find(b"\0")
        if nul >= 0:
            raise _error(name, f"binary data (a NUL byte at offset {size + nul}), "
                               "not YAML or JSON text")
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            if cap == limit:
                raise _error(name, f"larger than {mib(limit)}, the limit for one input "
                                   "(see Limits in README.md)")
            raise _error(name, f"the input exceeds {mib(MAX_TOTAL_BYTES)} in total, the limit "
                               "for all inputs together (see Limits in README.md)")
    return b"".join(chunks)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _error(name, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}): "
                           "binary data?") from None


@dataclass
class Reader:
    """Reads inputs in order and keeps the running total every limit is checked against."""

    total: int = 0
    warnings: list[str] = field(default_factory=list)
    # hashlib's sha256 when the caller keys a cache on the input: every byte read, in order
    digest: Any = None

    def mark(self, label: str) -> None:
        """Put a label (which argument, how a file was found) into the digest, length first so
        no two sequences of labels and files hash alike."""
        if self.digest is not None:
            raw = label.encode("utf-8", "surrogateescape")
            self.digest.update(b"L%d:" % len(raw) + raw)

    def hexdigest(self) -> str:
        return "" if self.digest is None else str(self.digest.hexdigest())

    def _take(self, stream: BinaryIO, name: str, size_hint: int = 0) -> str:
        data = _read_bounded(stream, name, MAX_FILE_BYTES, MAX_TOTAL_BYTES - self.total,
                             size_hint)
        self.total += len(data)
        if self.digest is not None:
            self.mark(name)
            self.digest.update(b"D%d:" % len(data))
            self.digest.update(data)
        return _decode(data, name)

    def stdin(self) -> str:
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # stdin replaced by a text stream (embedding, some test runners)
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
            return self._take(io.BytesIO(text.encode("utf-8", "surrogateescape")), STDIN)
        return self._take(raw, STDIN)

    def file(self, path: Path) -> str:
        name = str(path)
        try:
            # O_NONBLOCK: should the path have become a FIFO since it was checked, opening it
            # must not wait for a writer
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            raise _error(name, _stat_problem(name, e)) from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _error(name, what_is(name)[1] or "not a regular file")
            return self._take(f, name, st.st_size)

    def files(self, path: str) -> tuple[list[Path], list[Path]]:
        """The files ``path`` names: (files to read, files found by walking a directory)."""
        kind, why = what_is(path)
        if kind == "file":
            return [Path(path)], []
        if kind == "other":
            raise _error(path, why)
        found = sorted(self._walk(Path(path)))
        return found, found

    def _walk(self, root: Path) -> Iterator[Path]:
        """Manifest files under ``root``. Symlinked directories are not entered (as ``find``
        does by default), so no link can make the walk loop; a symlinked file is read, and
        one that loops or dangles is skipped with a warning."""
        stack = [root]
        while stack:
            d = stack.pop()
            try:
                entries = list(os.scandir(d))
            except OSError as e:
                self.warnings.append(f"skipped {d}: {_stat_problem(str(d), e)}")
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
                if not entry.name.endswith(SUFFIXES):
                    continue
                kind, why = what_is(entry.path)
                if kind == "file":
                    yield Path(entry.path)
                elif kind == "other":
                    self.warnings.append(f"skipped {entry.path}: {why}")

