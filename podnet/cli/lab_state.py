"""What every `podnet lab` command needs besides typer: a lab's ledger, and its cluster rebuilt
from its state (the lab modules are imported where used: the analyzer must work where pyroute2
or root are missing). No typer here: ``podnet.cli.quick`` runs `lab up` and `lab probe` without it."""

from __future__ import annotations

from typing import Any

from podnet.errors import LabPrerequisiteError, UsageError


def cluster_of(state: dict[str, Any]) -> Any:
    from podnet.model.cluster import build
    from podnet.model.load import RawDoc

    docs = [RawDoc(d["file"], d["doc"], d["body"]) for d in state["docs"]]
    return build(docs, nodes=state["nodes"], overrides=state.get("overrides") or {})


def complete_lab(name: str) -> Any:
    """The ledger of a lab that is up and was built to the end (probing a half-built lab would
    blame the analyzer for what `lab up` never made)."""
    from podnet.lab import ledger as ledger_mod

    if not name:
        raise UsageError("give the lab's --name")
    if not ledger_mod.exists(name):
        raise LabPrerequisiteError(f"no lab named {name!r} is up")
    led = ledger_mod.Ledger(name)
    led.require_complete()
    return led
