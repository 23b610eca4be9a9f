"""The connlist command's ``--exposure`` output in each of netpol-analyzer's formats that
podnet renders for it: connlist's own lines (already focused, if a focus applies) and the
exposure analysis, as one text."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from podnet.model.cluster import Cluster
from podnet.policy import exposure_txt
from podnet.policy.compile import Compiled
from podnet.policy.connlist import representatives
from podnet.policy.connset import ConnSet
from podnet.policy.exposure import exposure, is_focus, split_line
from podnet.policy.exposure_dot import render_dot
from podnet.policy.exposure_formats import RENDERERS

EXPOSURE_FORMATS = ("txt", *RENDERERS, "dot")


def exposure_report(cluster: Cluster, compiled: Compiled, lines: Sequence[str], fmt: str = "txt",
                    *, focus: Collection[str] = (), direction: str | None = None,
                    conn: tuple[str, int] | None = None) -> str:
    """``conn``: a focus connection (protocol, port), which the lines already hold alone."""
    triples = [split_line(ln) for ln in lines]
    peers = exposure(cluster, compiled, triples, focus=focus, direction=direction, conn=conn)
    conn_text = "" if conn is None else str(ConnSet.port(*conn))
    if fmt == "txt":
        return "\n".join(exposure_txt.render(lines, peers, conn_text)) + "\n"
    if fmt == "dot":
        shown = [w for w in representatives(cluster) if is_focus(w, focus)]
        return render_dot(triples, peers, shown)
    return RENDERERS[fmt](triples, peers, conn_text)
