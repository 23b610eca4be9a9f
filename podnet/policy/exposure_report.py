"""The connlist command's ``--exposure`` output: connlist's lines, then the exposure section."""

from __future__ import annotations

from podnet.model.cluster import Cluster
from podnet.policy import exposure_txt
from podnet.policy.compile import Compiled
from podnet.policy.exposure import exposure, split_line


def exposure_report(cluster: Cluster, compiled: Compiled, lines: list[str]) -> list[str]:
    peers = exposure(cluster, compiled, [split_line(ln) for ln in lines])
    return exposure_txt.render(lines, peers)
