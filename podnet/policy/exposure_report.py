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
Triple = tuple[str, str, str]


def exposure_report(cluster: Cluster, compiled: Compiled, lines: Sequence[str], fmt: str = "txt",
                    *, focus: Collection[str] = (), direction: str | None = None,
                    conn: tuple[str, int] | None = None) -> str:
    """``conn``: a focus connection (protocol, port), which the lines already hold alone."""
    return report_of(cluster, compiled, [split_line(ln) for ln in lines], fmt, focus=focus,
                     direction=direction, conn=conn)


def report_of(cluster: Cluster, compiled: Compiled, triples: Sequence[Triple], fmt: str = "txt",
              *, focus: Collection[str] = (), direction: str | None = None,
              conn: tuple[str, int] | None = None) -> str:
    """``exposure_report`` from connlist's (src, dst, conns) triples: at 150,000 pods there are
    millions, and printing them only to split them again cost seconds."""
    peers = exposure(cluster, compiled, triples, focus=focus, direction=direction, conn=conn)
    conn_text = "" if conn is None else str(ConnSet.port(*conn))
    if fmt == "txt":
        lines = [f"{s} => {d} : {c}" for s, d, c in triples]
        return "\n".join(exposure_txt.render(lines, peers, conn_text)) + "\n"
    if fmt == "dot":
        shown = [w for w in representatives(cluster) if is_focus(w, focus)]
        return render_dot(triples, peers, shown)
    return RENDERERS[fmt](triples, peers, conn_text)
