"""Loading the cluster for a command, and the checks of its options that need no typer: what
``podnet.cli.quick`` runs before (and instead of) importing the command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from podnet.errors import UsageError

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster
    from podnet.model.load import Docs


def check_choice(flag: str, value: str | None, allowed: Sequence[str]) -> None:
    """The one check of a command-line value against its vocabulary."""
    if value is not None and value not in allowed:
        raise UsageError(f"{flag} {value}: choose one of {', '.join(allowed)}")


def load_docs(files: list[str], keep_prefix: bool = False) -> Docs:
    """The documents of every -f, each read once (stdin cannot be read twice); ``keep_prefix``:
    see ``podnet.model.load.read_texts``."""
    if not files:
        raise UsageError("no input: give manifests with -f PATH (a file, a directory, or -)")
    from podnet.model.load import read_paths

    return read_paths(files, keep_prefix)


# Set by the app's --no-cache (podnet.cli.app) for the command that runs.
CACHE = {"enabled": True}


def load_cluster(files: list[str], nodes: int = 3, keep_prefix: bool = False, *,
                 hosts: frozenset[str] | None = None, **overrides: object) -> Cluster:
    """The model of these inputs: from the model cache (``podnet.cli.modelcache``) when an
    earlier run built it from the same bytes and options, else built (and stored).

    ``hosts``: the caller reads only the Ingresses that shape these hosts' servers
    (``podnet.model.ingress_hosts``); from the cache it may get only those."""
    return load_keyed(files, nodes, keep_prefix, hosts=hosts, **overrides)[0]


def load_keyed(files: list[str], nodes: int = 3, keep_prefix: bool = False, *,
               hosts: frozenset[str] | None = None, **overrides: object) -> tuple[Cluster, str]:
    """``load_cluster``, and the model's cache key ("" with the cache off): what a command
    keys what it derives from the model by (``podnet.cli.reach_cache``)."""
    from podnet.cli import modelcache
    from podnet.model.cluster import build
    from podnet.model.load import gather, parse_gathered

    if not files:
        raise UsageError("no input: give manifests with -f PATH (a file, a directory, or -)")
    given = {k: v for k, v in overrides.items() if v is not None}
    cached = modelcache.enabled(CACHE["enabled"])
    gathered = gather(files, digest=cached)
    key = modelcache.key(gathered.digest, nodes, keep_prefix, given) if cached else ""
    cluster = modelcache.get(key, hosts) if cached else None
    if cluster is None:
        cluster = build(parse_gathered(gathered, keep_prefix), nodes=nodes, overrides=given)
        if cached:
            modelcache.put(key, cluster)
    warn(cluster)
    return cluster, key


def warn(cluster: Cluster) -> None:
    """The model's warnings on stderr, so every command's stdout (json, csv, connlist) stays
    parseable and the warning still reaches whoever reads the answer: files skipped, fields the
    API server would refuse, addresses that bend routes, policy kinds the answer leaves out."""
    for w in cluster.warnings:
        print(f"podnet: warning: {w}", file=sys.stderr)


def check_format(output: str, allowed: tuple[str, ...]) -> None:
    check_choice("-o", output, allowed)
