"""``podnet disk`` (the etcd disk check) and ``podnet node check`` (this machine, read-only)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from podnet.cli.common import OutputOpt, check_format
from podnet.cli.output import console, emit_json
from podnet.errors import UsageError

if TYPE_CHECKING:
    from rich.table import Table

    from podnet.doctor.finding import Finding

node_app = typer.Typer(no_args_is_help=True, help="Read-only checks of the machine podnet runs on.")


def register(app: typer.Typer) -> None:
    app.command("disk")(disk_cmd)
    app.add_typer(node_app, name="node")


def _findings_table(title: str, findings: list[Finding]) -> Table:
    from rich.table import Table

    t = Table(title=title, expand=True)
    t.add_column("severity", no_wrap=True)
    t.add_column("check", no_wrap=True)
    t.add_column("object / field", ratio=2, overflow="fold")
    t.add_column("finding (evidence)", ratio=3, overflow="fold")
    for f in findings:
        reading = f.evidence.get("reading", "")
        t.add_row(f.severity, f.check, f"{f.object}\n{f.field}", f"{f.message}\n({reading})")
    return t


def _say(text: str) -> None:
    if sys.stderr.isatty():  # a 10,000-fsync run takes seconds to a minute: say what is going on
        sys.stderr.write(text + "\n")


def disk_cmd(path: Annotated[Path, typer.Argument(
                 help="Directory on the disk to test (default: the current directory); podnet "
                      "creates its file there and removes it.")] = Path("."),
             size: Annotated[str, typer.Option("--size", help="bytes to write (fio's --size)")] = "22m",
             bs: Annotated[str, typer.Option("--bs", help="bytes per write (fio's --bs)")] = "2300",
             etcd: Annotated[bool, typer.Option(
                 "--etcd", help="also start a real etcd there and read its fsync histograms")] = False,
             etcd_puts: Annotated[int, typer.Option(
                 "--etcd-puts", help="keys written to etcd with --etcd")] = 1000,
             output: OutputOpt = "table") -> None:
    """etcd's disk check: sequential writes, each followed by fdatasync (fio --rw=write
    --ioengine=sync --fdatasync=1 --size=22m --bs=2300); p99 against etcd's 10 ms. Exit 1 when slow."""
    from rich.table import Table

    from podnet.doctor import disk as diskcheck
    from podnet.host.fsync import time_fdatasync

    check_format(output, ("table", "json"))
    nbytes, block = diskcheck.parse_size(size, "--size"), diskcheck.parse_size(bs, "--bs")
    writes = diskcheck.write_count(nbytes, block)
    if not 1 <= etcd_puts <= 1_000_000:
        raise UsageError(f"--etcd-puts {etcd_puts}: give 1 to 1000000")
    directory = path.resolve()
    if not directory.is_dir():
        raise UsageError(f"{path}: not a directory (give the directory on the disk to test)")
    if etcd:
        from podnet.host.etcd import etcd_binary

        etcd_binary()  # a missing etcd is said before a minute of timing, not after
    _say(f"timing {writes} writes of {block} B + fdatasync in {directory} ...")
    hist = time_fdatasync(directory, nbytes, block)
    result = diskcheck.summarize(str(directory), block, hist)
    findings = [diskcheck.disk_finding(result)]
    data: dict[str, Any] = result.to_json()
    slow = result.verdict == "slow"
    if etcd:
        from podnet.host.etcd import run_etcd

        _say(f"starting etcd in {directory} and writing {etcd_puts} keys ...")
        run = run_etcd(directory, etcd_puts, block)
        quantiles = [diskcheck.etcd_quantile(run.metrics, diskcheck.WAL_FSYNC, diskcheck.FSYNC_P99_MS),
                     diskcheck.etcd_quantile(run.metrics, diskcheck.BACKEND_COMMIT,
                                             diskcheck.COMMIT_P99_MS)]
        findings += diskcheck.etcd_findings(quantiles, f"etcd {run.version} on {directory}")
        data["etcd"] = diskcheck.etcd_json(run.version, run.puts, run.seconds, quantiles)
        slow = slow or any(q.verdict == "slow" for q in quantiles)
    data["findings"] = [f.to_json() for f in findings]
    if output == "json":
        emit_json(data)
    else:
        ms = result.fdatasync_ms
        t = Table(title=f"fdatasync after each of {result.writes} writes of {block} B in {directory}")
        for col in ("p50", "p90", "p99", "p99.9", "max"):
            t.add_column(f"{col} ms", justify="right")
        t.add_row(*(f"{ms[c]:.3f}" for c in ("p50", "p90", "p99", "p99.9", "max")))
        con = console()
        con.print(t)
        con.print(f"verdict: {result.verdict} (etcd wants fdatasync p99 below "
                  f"{diskcheck.FSYNC_P99_MS:g} ms)")
        if etcd:
            for key in ("wal_fsync", "backend_commit"):
                q = data["etcd"][key]
                low, high = q["bucket_ms"]
                con.print(f"etcd {key}: p99 {q['p99_ms']} ms (bucket {low:g}-{high} ms, "
                          f"{q['observations']} observations), threshold {q['threshold_ms']:g} ms: "
                          f"{q['verdict']}")
    if slow:
        raise typer.Exit(1)


@node_app.command("check")
def node_check(cni: Annotated[str | None, typer.Option(
                   "--cni", help="the CNI's mode, for the expected MTU and kernel features: "
                                 "vxlan|host-gw|bgp|ipip|wireguard")] = None,
               underlay: Annotated[str | None, typer.Option(
                   "--underlay", help="the underlay interface, where no default route names it "
                                      "(a lab node has none)")] = None,
               output: OutputOpt = "table") -> None:
    """Forwarding, bridge netfilter, rp_filter, conntrack, MTUs, rule counts and kernel
    features of this machine, read without changing anything."""
    from podnet.dataplane.mtu import OVERHEAD
    from podnet.doctor.finding import summary
    from podnet.doctor.node import node_findings
    from podnet.host.node import read_node

    check_format(output, ("table", "json"))
    if cni is not None and cni not in OVERHEAD:
        raise UsageError(f"--cni {cni}: choose one of {', '.join(sorted(OVERHEAD))}")
    readings = read_node()
    if underlay is not None:
        if underlay not in {i.name for i in readings.interfaces}:
            raise UsageError(f"--underlay {underlay}: no such interface here")
        readings = replace(readings, default_route_interface=underlay)
    findings = node_findings(readings, cni)
    if output == "json":
        emit_json({"node": readings.hostname, "cni": cni, "readings": readings.to_json(),
                   "findings": [f.to_json() for f in findings], "summary": summary(findings)})
        return
    con = console()
    con.print(_findings_table(f"node check: {readings.hostname}", findings))
    counts = summary(findings)
    con.print(", ".join(f"{n} {s}" for s, n in counts.items()))
