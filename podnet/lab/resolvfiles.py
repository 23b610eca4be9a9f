"""The nodes' and pods' resolv.conf where `ip netns exec` finds them, /etc/netns/<namespace>/,
and their removal.

Each distinct text is written once, in a directory of the lab's own under /etc/netns
(``names.resolv_dir``), beside one symbolic link to it, and /etc/netns/<namespace> is a hard link
to that symbolic link: a name, no inode of its own. The pods of one Kubernetes namespace share
their resolv.conf (its search list names the namespace), so a 200-pod lab makes about twenty
inodes where it made 420 (a directory and a file a namespace). `ip netns exec` opens
/etc/netns/<name> and bind-mounts each file it finds there over /etc, and a link to a directory
serves as the directory did. Why: on a file system that rations new inodes (ext4 without a
journal skips every inode freed in the last 30 seconds, one lookup each) making them was the
largest part of a `lab up` right after a `lab down`, on its critical path (docs/benchmarks.md).

Everything is recorded in the ledger before it is made. ``remove`` unlinks a link only where it
still points where the ledger says, and removes only the file podnet wrote and its directory,
never a directory's other content and never through a link.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podnet import names
from podnet.errors import LabError
from podnet.lab.ledger import Ledger

if TYPE_CHECKING:  # the steps module is not needed to tear down (lab down imports this)
    from podnet.lab.steps import WriteResolvConf

NETNS_ETC = Path("/etc/netns")


def write(steps: Sequence[WriteResolvConf], ledger: Ledger) -> None:
    """Each step's text reachable as /etc/netns/<its namespace>/resolv.conf."""
    for step in steps:
        if not ledger.owns_netns(step.netns):
            raise LabError(str(step), f"{step.netns!r} is not a namespace of lab {ledger.lab!r}")
    if steps and not NETNS_ETC.is_dir():  # a stat, where mkdir of what exists cost ~1 ms here
        NETNS_ETC.mkdir(parents=True, exist_ok=True)
    shared: dict[str, tuple[str, str]] = {}  # text -> its directory, its link
    links: Counter[str] = Counter()  # directory -> links made to it
    for step in steps:
        try:
            where, link = shared.get(step.text) or ("", "")
            if not where:
                where = names.resolv_dir(ledger.lab, len(shared))
                ledger.record("etc-netns", netns=where)
                # an existing directory is not ours: fail, do not write into it
                os.mkdir(NETNS_ETC / where, 0o755)
                write_new(NETNS_ETC / where / "resolv.conf", step.text)
                link = _link(where, 0, ledger)
                shared[step.text] = where, link
                links[where] += 1
            ledger.record("etc-netns-link", netns=step.netns, target=where)
            try:
                os.link(NETNS_ETC / link, NETNS_ETC / step.netns, follow_symlinks=False)
            except OSError as e:
                if e.errno != errno.EMLINK:
                    raise
                link = _link(where, links[where], ledger)
                shared[step.text] = where, link
                links[where] += 1
                os.link(NETNS_ETC / link, NETNS_ETC / step.netns, follow_symlinks=False)
        except OSError as e:
            raise LabError(str(step), f"{type(e).__name__}: {e}") from None


def _link(where: str, index: int, ledger: Ledger) -> str:
    """A new symbolic link to ``where``, whose inode the namespaces' names share (one inode
    holds 65,000 names on ext4: past that, the next link's)."""
    link = names.resolv_link(where, index)
    ledger.record("etc-netns-link", netns=link, target=where)
    os.symlink(where, NETNS_ETC / link)  # relative: beside it in /etc/netns
    return link


def write_new(path: Path, text: str) -> None:
    """A new file: never over an existing one, never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def remove(entries: Iterable[Mapping[str, Any]], ledger: Ledger) -> list[str]:
    """Undo ``write`` (and what earlier versions wrote: a directory per namespace) for the
    ledger's entries; what was removed."""
    removed: list[str] = []
    entries = list(entries)
    for e in reversed(entries):
        if (e["kind"] == "etc-netns-link" and ledger.owns_netns(e.get("netns"))
                and ledger.owns_netns(e.get("target"))):
            path = NETNS_ETC / str(e["netns"])
            try:
                if os.readlink(path) == e["target"]:
                    path.unlink()
                    removed.append(f"link {path}")
            except OSError:
                pass  # gone, or not a link: not ours
    for e in reversed(entries):
        if e["kind"] == "etc-netns" and ledger.owns_netns(e.get("netns")):
            path = NETNS_ETC / str(e["netns"])
            if path.is_symlink():
                continue
            (path / "resolv.conf").unlink(missing_ok=True)
            try:
                path.rmdir()
                removed.append(f"dir {path}")
            except OSError:
                pass  # not empty or already gone: never remove what podnet did not write
    return removed
