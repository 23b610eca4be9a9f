"""Ask each node's BIRD for its BGP sessions (``birdc show protocols``)."""

from __future__ import annotations

import subprocess
from typing import Any

from podnet.errors import LabError
from podnet.lab.ledger import Ledger


def peers(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    lab = ledger.read_state("lab.json")
    if lab.get("cni") != "bgp":
        raise LabError("lab bgp", f"lab {ledger.lab} runs cni {lab.get('cni')}, not bgp")
    out: dict[str, list[dict[str, Any]]] = {}
    birds = sorted((str(e["node"]), ledger.file(str(e["socket"]))) for e in ledger.entries()
                   if e["kind"] == "process" and "node" in e and "socket" in e)
    for node, sock in birds:
        r = subprocess.run(["birdc", "-s", str(sock), "show", "protocols"], capture_output=True,
                           text=True, check=False)
        if r.returncode:
            raise LabError(f"birdc on {node}", r.stderr.strip() or r.stdout.strip())
        rows = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[1] == "BGP":
                peer = parts[0].removeprefix("Mesh_").replace("_", ".")
                rows.append({"peer": peer, "state": parts[3], "since": parts[4],
                             "info": " ".join(parts[5:])})
        out[node] = rows
    return out
