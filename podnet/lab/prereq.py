"""What every lab command checks before it enters a namespace: root, namespaces, the tools.
Its own module, importing nothing of pyroute2: `lab probe` checks this and never creates a link
(pyroute2's package import alone is ~0.25 s, issue 17)."""

from __future__ import annotations

import os
import shutil

from podnet.errors import LabPrerequisiteError


def is_root() -> bool:
    return os.geteuid() == 0


def check_prerequisites() -> None:
    if not is_root():
        raise LabPrerequisiteError("the lab needs root (network namespaces, links, routes): "
                                   "run podnet lab as root")
    if not os.path.exists("/proc/self/ns/net"):
        raise LabPrerequisiteError("this kernel has no network namespaces")
    for tool, pkg in (("nft", "nftables"), ("iptables-restore", "iptables")):
        if shutil.which(tool) is None:
            raise LabPrerequisiteError(f"the lab needs {tool} (Debian package {pkg}): "
                                       "run make install")
