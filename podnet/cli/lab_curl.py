"""`podnet lab curl`: one real request through the lab's ingress controller, beside what
`podnet http` predicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from podnet import names
from podnet.cli.common import OutputOpt, check_format
from podnet.cli.lab_common import NameOpt, cluster_of, complete_lab, lab_app
from podnet.cli.lab_http import _client_cert, _http_tables
from podnet.cli.output import console, emit_json
from podnet.errors import LabPrerequisiteError, UsageError

if TYPE_CHECKING:
    from podnet.analysis import Analysis


def _lab_pod(analysis: Analysis, led: Any, key: str) -> tuple[str, str]:
    """(IP, namespace) of a pod the lab runs, named NAMESPACE/POD; a UsageError otherwise."""
    places = {p["key"]: p["netns"] for p in led.read_state("pods.json")}
    pod = analysis.cluster.pod(key) if "/" in key else None
    if pod is None or key not in places:
        raise UsageError(f"--from {key!r}: no pod of that NAMESPACE/NAME runs in lab "
                         f"{led.lab!r} (hostNetwork pods share their node's namespace and "
                         "are not sources)")
    return pod.ip, places[key]


@lab_app.command("curl")
def curl_cmd(url: Annotated[str, typer.Argument(help="http:// or https:// URL")],
             name: NameOpt = "",
             method: Annotated[str, typer.Option("-X", "--request")] = "GET",
             header: Annotated[list[str], typer.Option(
                 "-H", "--header", help="'Name: value' (repeatable)")] = [],  # noqa: B006
             body_bytes: Annotated[int, typer.Option("--body-bytes", min=0)] = 0,
             client_cert: Annotated[str, typer.Option(
                 "--client-cert", help="CN of a client certificate the lab's CA signs, or none")
                 ] = "none",
             from_pod: Annotated[str, typer.Option(
                 "--from", help="NAMESPACE/POD sending the request to the controller's "
                 "ClusterIP, as in-cluster clients do (default: the outside, to its "
                 "LoadBalancer IP or NodePort)")] = "",
             output: OutputOpt = "table") -> None:
    """One real request through the lab's ingress controller, from the outside or from a pod:
    the status, the pod that answered and the headers it saw, beside what `podnet http`
    predicts (NetworkPolicy judged on a pod's hop to the controller)."""
    check_format(output, ("table", "json"))
    from podnet.analysis import Analysis
    from podnet.ingress.request import request
    from podnet.lab.http import HttpAsk, fetch
    from podnet.lab.prereq import check_prerequisites
    from podnet.predict import ingress as predict

    check_prerequisites()
    led = complete_lab(name)
    lab = led.read_state("lab.json")
    analysis = Analysis(cluster_of(lab))
    tables, skipped = _http_tables(analysis, led)
    if not tables:
        raise LabPrerequisiteError(f"lab {name!r} runs no ingress controller"
                                   + (f" ({'; '.join(skipped)})" if skipped else ""))
    hdrs = {}
    for h in header:
        k, sep, v = h.partition(":")
        if not sep or not k.strip():
            raise UsageError(f"-H {h!r}: write 'Name: value'")
        hdrs[k.strip()] = v.strip()
    cert = None if client_cert in ("", "none") else client_cert
    source, netns = lab.get("external_ip", ""), names.external_netns(name)
    if from_pod:
        source, netns = _lab_pod(analysis, led, from_pod)
    req = request(url, method, hdrs, body_bytes, cert, source)
    table = next((t for t in tables if t.server_for(req.host).host != "_"), tables[0])
    where = (predict.cluster_entry if from_pod else predict.entry)(analysis, table.controller)
    assert where is not None
    want = predict.outcome(analysis, table, req)
    got = fetch(HttpAsk(netns, *where[req.scheme], req.scheme,
                        req.http_host, req.path + (f"?{req.query}" if req.query else ""),
                        req.method, tuple(hdrs.items()), body_bytes, True,
                        _client_cert(led, cert) if cert else None,
                        # a connection policy drops is waited for briefly, as lab probe does
                        timeout=3.0 if want.status == predict.NO_ANSWER else 30.0))
    data = {"url": url, "from": from_pod or "external", "controller": table.controller.key,
            "to": f"{where[req.scheme][0]}:"
            f"{where[req.scheme][1]}", "status": got.status, "location": got.location,
            "pod": got.pod, "seen": got.seen, "error": got.error,
            "predicted": {"status": want.status, "location": want.location,
                          "reason": want.reason}}
    if output == "json":
        emit_json(data)
        return
    c = console()
    c.print(f"{url} from {data['from']} via {data['controller']} at {data['to']}: "
            + (f"{got.status}" if got.status else f"no answer ({got.error})"), markup=False)
    if got.location:
        c.print(f"Location: {got.location}", markup=False)
    if got.pod:
        c.print(f"answered by {got.pod}; it saw:", markup=False)
        for k, v in sorted(dict(got.seen.get("headers") or {}).items()):  # type: ignore[call-overload]
            c.print(f"  {k}: {v}", markup=False)
    c.print(f"predicted: {want.status}{' ' + want.location if want.location else ''} "
            f"({want.reason})", markup=False)
