"""The cluster model: manifests in, one immutable ``Cluster`` out.

The package's names load on first use (PEP 562): the command line reads
``podnet.model.vocabulary`` while it parses arguments, and must not pay for the model (and
numpy) before a command runs."""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster, build
    from podnet.model.load import read_paths, read_texts

_LAZY = {"Cluster": "podnet.model.cluster", "build": "podnet.model.cluster",
         "read_paths": "podnet.model.load", "read_texts": "podnet.model.load"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podnet.model' has no attribute {name!r}")
    return getattr(import_module(module), name)


def load(paths: list[str], **kwargs: object) -> Cluster:
    """Read manifests from paths (files, directories, ``-``) into a Cluster."""
    from podnet.model.cluster import build
    from podnet.model.load import read_paths

    return build(read_paths(paths), **kwargs)  # type: ignore[arg-type]


class _Package(ModuleType):
    """Importing the submodule ``podnet.model.load`` sets the package's attribute ``load``;
    the name stays the function below (as when the package imported its submodules first)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "load" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = ["Cluster", "build", "load", "read_paths", "read_texts"]
