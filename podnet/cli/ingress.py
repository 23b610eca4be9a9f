"""``podnet ingress`` (the route table of each ingress-nginx controller) and ``podnet http``
(where one request goes and what it gets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format, load_cluster
from podnet.cli.output import console, emit_json, emit_text
from podnet.errors import UsageError

if TYPE_CHECKING:
    from podnet.ingress.request import Outcome, Request
    from podnet.ingress.routes import Table
    from podnet.model.cluster import Cluster


def _tables(cluster: Cluster) -> tuple[Table, ...]:
    from podnet.ingress.controllers import find_controllers
    from podnet.ingress.routes import build_all

    return build_all(cluster, find_controllers(cluster))


def _print_table(data: dict[str, Any]) -> None:
    from rich.table import Table as RichTable

    from podnet.ingress.routes import DEFAULT_SERVER

    c = console()
    kind = "" if data["declared"] else " (stand-in default controller)"
    c.print(f"controller {data['controller']}{kind}: class {data['ingressClass']}, "
            f"controller {data['controllerClass']}, prefix {data['annotationsPrefix']}")
    t = RichTable(title=f"routes of {data['controller']}")
    for col in ("host", "location", "path", "pathType", "TLS", "backend", "endpoints",
                "annotations"):
        t.add_column(col, overflow="fold")
    for s in data["servers"]:
        host = "(default server)" if s["host"] == DEFAULT_SERVER else s["host"]
        cells = []
        if s["tls"] is not None:
            problem = s["tls"]["problem"]
            cells.append(s["tls"]["certificate"] + (f" ({problem})" if problem else ""))
        if s["clientCertificate"] is not None:
            cells.append(f"client certificate {s['clientCertificate']['verifyClient']}")
        if s["authTLSError"]:
            cells.append(f"403 to all: {s['authTLSError']}")
        tls = "; ".join(cells)
        for loc in s["locations"]:
            b = loc["backend"]
            backend = f"{b['service']}:{b['port']}" if b else "built-in 404"
            eps = ", ".join(b["endpoints"]) if b else ""
            if b and not b["endpoints"]:
                eps = f"none: {b['problem']} (503)"
            if loc["canary"]:
                backend += f" + canary {loc['canary']['service']}"
            anns = ", ".join(f"{k.rsplit('/', 1)[-1]}={v}" for k, v in loc["annotations"].items())
            t.add_row(host, loc["location"], loc["path"] or "(fallback)", loc["pathType"] or "",
                      tls, backend, eps, anns)
    c.print(t)
    for ing in data["ingresses"]:
        if not ing["accepted"]:
            c.print(f"ignored Ingress {ing['name']}: {ing['reason']}")
        for a in ing["ignoredAnnotations"]:
            c.print(f"ignored annotation {a['annotation']}={a['value']!r} on {ing['name']}: "
                    f"{a['reason']}")
    for n in data["notes"]:
        c.print(f"note: {n}")


def _route(cluster: Cluster, req: Request, controller: str, gateway: str) -> Outcome:
    """The front the request reaches, and its outcome there."""
    from podnet.ingress.controllers import find_controllers
    from podnet.ingress.routes import DEFAULT_SERVER, build_all, hosts_for

    # Gateway API is read only when the input has a Gateway (reading it is a tenth of a
    # second of imports; without a Gateway it routes nothing)
    gws = _gateways(cluster) if gateway or any(
        o.kind == "Gateway" for o in (*cluster.configs, *cluster.ignored)) else None

    def through(key: str) -> Outcome:  # NetworkPolicy judged on the Gateway pod's hop too
        from podnet.analysis import Analysis
        from podnet.gateway import router
        from podnet.predict.gateway import reachability

        assert gws is not None
        return router.handle(gws, key, req, reachability(Analysis(cluster), key))
    if gateway:
        from podnet.gateway import router

        assert gws is not None
        if gateway not in gws.gateways:
            raise UsageError(f"--gateway {gateway}: not one of "
                             f"{', '.join(sorted(gws.gateways)) or 'none'}")
        return through(gateway)
    tables = build_all(cluster, find_controllers(cluster), hosts_for(req.host))
    if controller:
        chosen = [t for t in tables if t.controller.key == controller]
        if not chosen:
            raise UsageError(f"--controller {controller}: not one of "
                             f"{', '.join(t.controller.key for t in tables) or 'none'}")
        return _outcome(cluster, chosen[0], req)
    serving = [t for t in tables if t.server_for(req.host).host != DEFAULT_SERVER]
    if serving:
        return _outcome(cluster, serving[0], req)
    if gws is not None:
        from podnet.gateway import router

        for key, state in sorted(gws.gateways.items()):
            listener = router.listener_for(gws, state, req)
            if listener is not None and router.candidates(gws, state, listener, req):
                return through(key)
    if tables:
        return _outcome(cluster, tables[0], req)
    if gws is not None and gws.gateways:  # none routes it: the one whose listener takes it says why
        from podnet.gateway import router

        listening = [k for k, s in sorted(gws.gateways.items()) if router.listener_for(gws, s, req)]
        return through((listening or sorted(gws.gateways))[0])
    raise UsageError("no Ingress, no Gateway and no ingress-nginx controller in the input")


def _gateways(cluster: Cluster) -> Any:
    from podnet.gateway.attach import build

    return build(cluster)


def _outcome(cluster: Cluster, table: Table, req: Request) -> Outcome:
    from podnet.analysis import Analysis
    from podnet.predict.ingress import outcome

    return outcome(Analysis(cluster), table, req)


def _headers(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in values:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"-H {h!r}: give 'Name: value'")
        out[name.strip()] = value.strip()
    return out


def register(app: typer.Typer) -> None:
    group = typer.Typer(invoke_without_command=True, no_args_is_help=False)
    app.add_typer(group, name="ingress")
    from podnet.cli.migrate import register as register_migrate
    register_migrate(group)

    @group.callback()
    def ingress(ctx: typer.Context, filename: FileOpt = [],  # noqa: B006
                output: OutputOpt = "table", nodes: NodesOpt = 3,
                render: Annotated[str | None, typer.Option(
                    "--render", help="nginx: the nginx.conf the lab runs for a controller")] = None,
                controller: Annotated[str, typer.Option(
                    "--controller", help="NS/NAME of the controller to render")] = "") -> None:
        """The route table of each ingress-nginx controller, as it would configure nginx
        (``podnet ingress migrate``: the same routes as Gateway API objects)."""
        if ctx.invoked_subcommand is not None:
            return
        from podnet.ingress import nginx
        from podnet.ingress import report as rep

        check_format(output, ("table", "json"))
        tables = _tables(load_cluster(filename, nodes))
        if render is not None:
            if render != "nginx":
                raise UsageError(f"--render {render}: choose nginx")
            chosen = [t for t in tables if not controller or t.controller.key == controller]
            if not chosen:
                raise UsageError(f"--controller {controller}: not one of "
                                 f"{', '.join(t.controller.key for t in tables) or 'none'}")
            emit_text(nginx.render(chosen[0], nginx.lab_files(chosen[0])))
            return
        data = [rep.table(t) for t in tables]
        if output == "json":
            emit_json({"controllers": data})
            return
        if not data:
            console().print("no Ingress and no ingress-nginx controller in the input")
        for d in data:
            _print_table(d)

    @app.command()
    def http(url: Annotated[str, typer.Argument(help="http:// or https:// URL")],
             filename: FileOpt = [],  # noqa: B006
             method: Annotated[str, typer.Option("-X", "--request", help="HTTP method")] = "GET",
             header: Annotated[list[str], typer.Option(
                 "-H", "--header", help="'Name: value' (repeatable)")] = [],  # noqa: B006
             body_bytes: Annotated[int, typer.Option("--body-bytes", min=0,
                                                     help="request body size")] = 0,
             client_cert: Annotated[str, typer.Option(
                 "--client-cert", help="CN of the client certificate, or none")] = "none",
             source: Annotated[str, typer.Option("--from", help="client IP")] = "203.0.113.10",
             controller: Annotated[str, typer.Option(
                 "--controller", help="NS/NAME of the controller the request reaches")] = "",
             gateway: Annotated[str, typer.Option(
                 "--gateway", help="NS/NAME of the Gateway the request reaches")] = "",
             output: OutputOpt = "table", nodes: NodesOpt = 3) -> None:
        """Where one HTTP request goes through ingress-nginx or a Gateway, and what it gets.

        Without --controller or --gateway: the ingress controller that has a server for the
        host, else the Gateway with a route for it, else the first of either."""
        from podnet.ingress import report as rep
        from podnet.ingress.request import request
        from podnet.ingress.routes import hosts_for

        check_format(output, ("table", "json"))
        req = request(url, method, _headers(header), body_bytes,
                      None if client_cert in ("", "none") else client_cert, source)
        # the route tables are built for the request's hosts only: so is the model's view
        cluster = load_cluster(filename, nodes, hosts=hosts_for(req.host))
        data = rep.outcome(_route(cluster, req, controller, gateway))
        if output == "json":
            emit_json(data)
            return
        c = console()
        c.print(f"{data['status']} via {data['controller']}: {data['reason']}")
        if data["location"]:
            c.print(f"Location: {data['location']}")
        if data["via"] and data["via"]["kind"] == "HTTPRoute":
            v = data["via"]
            path = v["match"]["path"]
            c.print(f"matched: HTTPRoute {v['name']} rule {v['rule']} (Gateway {v['gateway']}, "
                    f"listener {v['listener']}, host {v['host'] or '*'}) path {path['type']} "
                    f"{path['value']}")
        elif data["via"]:
            v = data["via"]
            c.print(f"matched: Ingress {v['name']} host {v['host'] or '*'} path "
                    f"{v['path'] or '(none: the host fallback)'} {v['pathType'] or ''}".rstrip())
        if data["backend"]:
            b = data["backend"]
            c.print(f"backend: {b['service']}:{b['port']} -> "
                    f"{', '.join(b['endpoints']) or 'no endpoints'}")
        if data["canary"]:
            k = data["canary"]
            c.print(f"canary: {k['service']}:{k['port']} ({k['ingress']}) with probability "
                    f"{k['probability']}: {k['reason']}")
        for name, value in (data["headers"] or {}).items():
            c.print(f"  {name}: {value}")
