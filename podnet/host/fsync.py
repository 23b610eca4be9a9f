"""Time fdatasync the way the seeds' fio job does (``--rw=write --ioengine=sync --fdatasync=1``):
sequential writes of one block, each followed by fdatasync, in a file podnet creates."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from podnet.doctor.histogram import LatencyHistogram
from podnet.errors import HostError

PREFIX = ".podnet-disk-"


def time_fdatasync(directory: Path, size: int, bs: int) -> LatencyHistogram:
    """Write ``size // bs`` blocks of ``bs`` bytes to a new file under ``directory`` and time each
    fdatasync with perf_counter_ns. The file is made with O_EXCL (never an existing file) and
    removed however the run ends."""
    if not directory.is_dir():
        raise HostError("disk", f"{directory}: not a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=PREFIX, dir=directory)
    except OSError as e:
        raise HostError("disk", f"cannot create a file in {directory}: {e.strerror}") from e
    hist = LatencyHistogram()
    # Random bytes, like fio's default buffers: a filesystem that compresses or deduplicates
    # must not get an easier job than etcd's WAL gives it.
    block = os.urandom(bs)
    try:
        # The space is allocated first and that is not timed: fio lays its file out before the
        # job, and etcd preallocates 64 MB WAL segments, so neither pays for growing the file.
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError:
            pass  # a filesystem without fallocate: the writes extend the file as they go
        os.fsync(fd)
        for _ in range(size // bs):
            view = memoryview(block)
            while view:
                view = view[os.write(fd, view):]
            t0 = time.perf_counter_ns()
            os.fdatasync(fd)
            hist.add(time.perf_counter_ns() - t0)
    except OSError as e:
        raise HostError("disk", f"writing {name}: {e.strerror}") from e
    finally:
        os.close(fd)
        os.unlink(name)
    return hist
