"""What the lab observed (``podnet lab probe -o json``), checked field by field and laid over
the report: the prediction it is compared with is recomputed here from the manifests given to
``report -f`` (as ``lab probe`` computes it), so a probe of an older version of the manifests
shows where they now differ."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np

from podnet.analysis import Analysis
from podnet.errors import InputError, SourceRef, UsageError
from podnet.model.objects import Pod
from podnet.policy import class_matrix, pod_matrix
from podnet.policy.connlist import workload_name
from podnet.policy.query import parse_port

FOREIGN = "is not a 'podnet lab probe -o json' file"
SERVICE_FIELDS = ("from", "service", "to", "port", "predicted", "observed")
MAX_LISTED_MISMATCHES = 200


def _list(value: Any, src: SourceRef, field: str, of: type) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(src, field, f"expected a list, got {type(value).__name__}")
    for k, v in enumerate(value):
        if not isinstance(v, of) or isinstance(v, bool) and of is not bool:
            raise InputError(src, f"{field}[{k}]", f"expected {of.__name__}, got {v!r}")
    return value


def read_probe(text: str, file: str) -> dict[str, Any]:
    """The JSON ``lab probe -o json`` writes, its shape checked; InputError names the field."""
    src = SourceRef(file=file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(src, "", f"not JSON (line {e.lineno}, column {e.colno}: {e.msg}); give "
                                  "the output of 'podnet lab probe --name N -o json'") from None
    if not isinstance(data, dict):
        raise InputError(src, "", f"a JSON {type(data).__name__} {FOREIGN}")
    for key in ("pods", "ports", "matrix", "services"):
        if key not in data:
            raise InputError(src, key, f"missing: this {FOREIGN}")
    pods = _list(data["pods"], src, "pods", str)
    ports = _list(data["ports"], src, "ports", str)
    for k, p in enumerate(ports):
        try:
            parse_port(p)
        except UsageError:
            raise InputError(src, f"ports[{k}]", f"{p!r} is not PORT/PROTOCOL") from None
    matrix = data["matrix"]
    if not isinstance(matrix, dict) or sorted(matrix) != sorted(ports):
        raise InputError(src, "matrix", "expected one matrix per entry of 'ports'")
    n = len(pods)
    for port in ports:
        rows = _list(matrix[port], src, f"matrix['{port}']", list)
        if len(rows) != n:
            raise InputError(src, f"matrix['{port}']", f"{len(rows)} rows for {n} pods")
        for i, row in enumerate(rows):
            _list(row, src, f"matrix['{port}'][{i}]", bool)
            if len(row) != n:
                raise InputError(src, f"matrix['{port}'][{i}]", f"{len(row)} columns for {n} pods")
    services = _list(data["services"], src, "services", dict)
    for k, s in enumerate(services):
        for f in SERVICE_FIELDS:
            if not isinstance(s.get(f), str):
                raise InputError(src, f"services[{k}].{f}", f"expected a string, got {s.get(f)!r}")
        if not isinstance(s.get("agrees"), bool):
            raise InputError(src, f"services[{k}].agrees", f"expected true or false, got {s.get('agrees')!r}")
    http = _list(data.get("http", []), src, "http", dict)
    return {"file": file, "pods": pods, "ports": ports, "matrix": matrix, "services": services,
            "http": http, "probes": data.get("probes"), "seconds": data.get("seconds")}


def _pod_overlay(a: Analysis, probe: dict[str, Any], file: str) -> tuple[list[dict[str, Any]], int]:
    """Every probed (pod, pod, port) whose observation differs from NetworkPolicy's answer."""
    index = {p.key: i for i, p in enumerate(a.cluster.pods)}
    for k, key in enumerate(probe["pods"]):
        if key not in index:
            raise InputError(SourceRef(file=file), f"pods[{k}]",
                             f"pod {key} is not in the manifests given with -f: the probe is of "
                             "another cluster")
    pods = [a.cluster.pods[index[k]] for k in probe["pods"]]
    idx = np.array([index[k] for k in probe["pods"]], dtype=np.int64)
    ports = [parse_port(p) for p in probe["ports"]]
    cm = class_matrix(a.cluster, a.compiled, ports)
    out: list[dict[str, Any]] = []
    probed = 0
    for name, port in zip(probe["ports"], ports, strict=True):
        want = pod_matrix(cm, port, idx, idx)
        seen = np.array(probe["matrix"][name], dtype=bool).reshape(len(pods), len(pods))
        probed += len(pods) * (len(pods) - 1)
        for i, j in zip(*np.nonzero(want != seen), strict=True):
            out.append({"from": pods[i].key, "to": pods[j].key, "port": name,
                        "fromWorkload": workload_name(pods[i]), "toWorkload": workload_name(pods[j]),
                        "predicted": bool(want[i, j]), "observed": bool(seen[i, j])})
    out.sort(key=lambda m: (m["from"], m["to"], m["port"]))
    return out, probed


def _service_groups(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per Service address: how many clients asked, which endpoints answered."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in services:
        groups.setdefault((s["service"], s["to"]), []).append(s)
    rows = []
    for (service, to), ss in sorted(groups.items()):
        answered = Counter(s["observed"] for s in ss)
        rows.append({"service": service, "to": to, "port": ss[0]["port"], "clients": len(ss),
                     "answers": sorted(answered.items(), key=lambda kv: (-kv[1], kv[0])),
                     "disagree": sum(not s["agrees"] for s in ss)})
    return rows


def matrix_overlay(conn: dict[str, Any], mismatches: list[dict[str, Any]],
                   probed_pods: list[Pod]) -> dict[str, Any]:
    """Where the matrix's cells disagree with the lab: ``cells`` [row, column, how many pod
    and port probes disagree], ``probed`` the rows (and columns) the lab probed (hostNetwork
    pods are not)."""
    if conn["level"] == "workload":
        index = {w["name"]: k for k, w in enumerate(conn["workloads"])}

        def item(workload: str) -> int | None:
            return index.get(workload)
        probed = sorted({index[workload_name(p)] for p in probed_pods if workload_name(p) in index})
    else:
        ns_index = {ns: k for k, ns in enumerate(conn["namespaces"])}

        def item(workload: str) -> int | None:
            return ns_index.get(workload.split("/", 1)[0])
        probed = sorted({ns_index[p.namespace] for p in probed_pods if p.namespace in ns_index})
    count: Counter[tuple[int, int]] = Counter()
    for m in mismatches:
        i, j = item(m["fromWorkload"]), item(m["toWorkload"])
        if i is not None and j is not None:
            count[(i, j)] += 1
    return {"cells": [[i, j, n] for (i, j), n in sorted(count.items())], "probed": probed,
            "count": len(mismatches)}


def lab_data(a: Analysis, probe: dict[str, Any], conn: dict[str, Any]) -> dict[str, Any]:
    """The Lab section's data; sets ``conn["lab"]``, the matrix's overlay."""
    mismatches, probed = _pod_overlay(a, probe, probe["file"])
    by_key = {p.key: p for p in a.cluster.pods}
    conn["lab"] = matrix_overlay(conn, mismatches, [by_key[k] for k in probe["pods"]])
    services = probe["services"]
    # probes written before the client pods had no "from": they were all from the outside
    http = sorted(({**{k: h.get(k) for k in ("url", "why", "to", "predicted", "observed",
                                             "agrees")}, "from": h.get("from") or "external"}
                   for h in probe["http"]),
                  key=lambda h: (str(h["url"]), str(h["why"]), h["from"] != "external",
                                 str(h["from"])))
    return {"file": probe["file"], "pods": len(probe["pods"]), "ports": probe["ports"],
            "podProbes": probed, "mismatchCount": len(mismatches),
            "mismatches": mismatches[:MAX_LISTED_MISMATCHES],
            "serviceProbes": len(services), "serviceGroups": _service_groups(services),
            "serviceMismatches": [s for s in services if not s["agrees"]],
            "http": http}
