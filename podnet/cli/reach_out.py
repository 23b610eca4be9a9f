"""``podnet reach``'s JSON outputs, streamed so neither the text nor the pod matrix is ever whole
in memory: ``-o json`` (the pod matrix, the format of DESIGN.md, byte for byte what
``json.dumps`` made of it) and ``-o json-classes`` (the same answer per class of pods that
policy treats alike, so its size follows the distinct behaviours, not pods squared).

``-o json-classes``::

    {"pods": [...], "destinations": [...],        # destinations: only with --from/--to
     "ports": ["80/TCP"],
     "classes": [[0, 3], [1], [2]],               # source classes: positions in "pods"
     "destinationClasses": [[0], [1, 2]],         # only with --from/--to (else = "classes")
     "allowed": {"80/TCP": [[1], [], [0, 1]]}}    # per source class: destination classes

``pods[i]`` may open a connection to ``destinations[j]`` on a port exactly when i's class
lists j's class under that port, or when the two are the same pod (a pod may always reach
itself)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from podnet.cli.output import Writer
from podnet.policy.matrix import ClassMatrix, Port, pod_matrix

if TYPE_CHECKING:
    from numpy.typing import NDArray

ROW_BLOCK = 1024  # pod rows (or source classes) expanded at once: bounded memory, few numpy calls


def _dumps(value: object) -> str:
    return json.dumps(value, indent=None, separators=(",", ": "))


def _head(out: Writer, names: Sequence[str], rows: NDArray[np.int64], cols: NDArray[np.int64],
          restricted: bool, keys: Sequence[str]) -> None:
    out.write('{"pods": ' + _dumps([names[i] for i in rows.tolist()]))
    if restricted:
        out.write(',"destinations": ' + _dumps([names[j] for j in cols.tolist()]))
    out.write(',"ports": ' + _dumps(list(keys)))


def write_matrix(cm: ClassMatrix, ports: Sequence[Port], names: Sequence[str],
                 rows: NDArray[np.int64], cols: NDArray[np.int64], restricted: bool) -> None:
    """``-o json``: ``matrix[port][i][j]``, expanded to pods ``ROW_BLOCK`` rows at a time."""
    keys = [f"{p}/{proto}" for p, proto in ports]
    out = Writer()
    _head(out, names, rows, cols, restricted, keys)
    out.write(',"matrix": {')
    for n, (port, key) in enumerate(zip(ports, keys, strict=True)):
        out.write(("," if n else "") + _dumps(key) + ": [")
        for start in range(0, len(rows), ROW_BLOCK):
            block = pod_matrix(cm, port, rows[start:start + ROW_BLOCK], cols)
            for a, row in enumerate(block.tolist()):
                out.write(("," if start or a else "") + _dumps(row))
        out.write("]")
    out.write("}}\n")
    out.close()


def _groups(of_pod: NDArray[np.int64], pods: NDArray[np.int64]
            ) -> tuple[list[list[int]], NDArray[np.int64]]:
    """Positions in ``pods`` grouped by class, in order of first appearance, and each group's
    class."""
    groups: dict[int, list[int]] = {}
    for pos, c in enumerate(of_pod[pods].tolist()):
        groups.setdefault(c, []).append(pos)
    return list(groups.values()), np.array(list(groups), dtype=np.int64)


def _list_of_lists(out: Writer, lists: Sequence[Sequence[int]]) -> None:
    out.write("[")
    for n, xs in enumerate(lists):
        out.write(("," if n else "") + _dumps(list(xs)))
    out.write("]")


def write_classes(cm: ClassMatrix, ports: Sequence[Port], names: Sequence[str],
                  rows: NDArray[np.int64], cols: NDArray[np.int64], restricted: bool) -> None:
    """``-o json-classes``: the class matrix restricted to the selected pods, as adjacency
    lists from source classes to destination classes."""
    of_pod = cm.space.classes.of_pod
    keys = [f"{p}/{proto}" for p, proto in ports]
    src_groups, src_cls = _groups(of_pod, rows)
    dst_groups, dst_cls = _groups(of_pod, cols) if restricted else (src_groups, src_cls)
    out = Writer()
    _head(out, names, rows, cols, restricted, keys)
    out.write(',"classes": ')
    _list_of_lists(out, src_groups)
    if restricted:
        out.write(',"destinationClasses": ')
        _list_of_lists(out, dst_groups)
    out.write(',"allowed": {')
    for n, (port, key) in enumerate(zip(ports, keys, strict=True)):
        out.write(("," if n else "") + _dumps(key) + ": [")
        for start in range(0, len(src_cls), ROW_BLOCK):
            block = cm.block(port, dst_cls, src_cls[start:start + ROW_BLOCK]).T
            for a, row in enumerate(block):
                out.write(("," if start or a else "") + _dumps(np.flatnonzero(row).tolist()))
        out.write("]")
    out.write("}}\n")
    out.close()
