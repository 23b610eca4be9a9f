"""What every `podnet lab` command shares: the typer group, the lab name option, the lab
modules (imported lazily: the analyzer must work where pyroute2 or root are missing), and the
lab's cluster, rebuilt from its state."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from podnet.errors import LabPrerequisiteError, UsageError

lab_app = typer.Typer(no_args_is_help=True, help="Build the cluster for real in network namespaces.")
NameOpt = Annotated[str, typer.Option("--name", help="Lab name (1-12 of a-z, 0-9, -).")]


def lab_modules() -> Any:
    # Imported lazily: the analyzer commands must work where pyroute2 or root are missing.
    from podnet.lab import apply, ledger, plan, teardown

    return apply, ledger, plan, teardown


def cluster_of(state: dict[str, Any]) -> Any:
    from podnet.model.cluster import build
    from podnet.model.load import RawDoc

    docs = [RawDoc(d["file"], d["doc"], d["body"]) for d in state["docs"]]
    return build(docs, nodes=state["nodes"], overrides=state.get("overrides") or {})


def complete_lab(name: str) -> Any:
    """The ledger of a lab that is up and was built to the end (probing a half-built lab would
    blame the analyzer for what `lab up` never made)."""
    _, ledger_mod, _, _ = lab_modules()
    if not name:
        raise UsageError("give the lab's --name")
    if not ledger_mod.exists(name):
        raise LabPrerequisiteError(f"no lab named {name!r} is up")
    led = ledger_mod.Ledger(name)
    led.require_complete()
    return led
