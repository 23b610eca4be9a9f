"""Read manifests into raw documents: files, directories (recursively), stdin.

Accepts multi-document YAML, JSON, ``kind: List`` and ``*List`` dumps (``kubectl get -o yaml``).
A document that is not a Kubernetes object (no ``kind``) is an input error naming the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podnet.errors import InputError, SourceRef
from podnet.model.limits import ALIAS_ALLOWANCE, MAX_DEPTH
from podnet.model.sources import SUFFIXES, Reader

__all__ = ["SUFFIXES", "Docs", "Gathered", "RawDoc", "gather", "parse_gathered", "read_paths",
           "read_texts"]

if TYPE_CHECKING:
    import yaml


def yaml_loader() -> Any:
    """PyYAML's safe loader, the C one when PyYAML has it (several times faster on large
    dumps). PyYAML is imported here, on the first YAML read: a command answered from the model
    cache reads none, and importing it is a tenth of a repeated ``explain``."""
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class RawDoc:
    file: str
    doc: int
    body: dict[str, Any]


def _check_shape(body: Any, name: str, index: int, budget: int) -> int:
    """Walk one document breadth first, as its aliases expand, and refuse it when it nests
    deeper than MAX_DEPTH or holds more than ``budget`` values; returns the values counted.

    The walk stops at the budget, so an alias bomb (or a self-referencing alias, a cycle)
    costs at most ``budget`` steps here instead of gigabytes wherever it is walked later."""
    level, depth, count = [body], 0, 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise InputError(SourceRef(file=name, doc=index), "",
                             f"nested more than {MAX_DEPTH} levels deep (or an alias "
                             "contains itself)")
        below: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value
            count += len(children)
            if count > budget:
                raise InputError(SourceRef(file=name, doc=index), "",
                                 f"anchors and aliases expand to more than {budget:,} values "
                                 f"(one per byte of input plus {ALIAS_ALLOWANCE:,}): refused "
                                 "as an alias bomb")
            below += [c for c in children if type(c) is dict or type(c) is list]
        level = below
    return count


def _parse_text(text: str, name: str, keep_prefix: bool = False) -> list[Any]:
    docs = _parse_prefix(text, name) if keep_prefix else _parse_unchecked(text, name)
    budget = len(text) + ALIAS_ALLOWANCE
    for index, body in enumerate(docs):
        if type(body) is dict or type(body) is list:
            budget -= _check_shape(body, name, index, budget)
    return docs


def _parse_unchecked(text: str, name: str) -> list[Any]:
    if name.endswith(".json"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as e:
            raise InputError(SourceRef(file=name), "",
                             f"invalid JSON at line {e.lineno}: {e.msg}") from None
        except RecursionError:
            raise InputError(SourceRef(file=name), "",
                             f"nested more than {MAX_DEPTH} levels deep") from None
    import yaml

    try:
        return list(yaml.load_all(text, Loader=yaml_loader()))
    except yaml.YAMLError as e:
        raise _yaml_error(e, SourceRef(file=name)) from None


def _yaml_error(e: yaml.YAMLError, where: SourceRef) -> InputError:
    mark = getattr(e, "problem_mark", None)
    line = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return InputError(where, "", f"invalid YAML{line}: {problem}")


class BrokenTail(list[Any]):
    """The documents of a YAML stream before the one that does not parse, and why it does not."""

    def __init__(self, docs: list[Any], error: InputError) -> None:
        super().__init__(docs)
        self.error = error


def _parse_prefix(text: str, name: str) -> list[Any]:
    """Every document up to a syntax error; the error travels with them (``BrokenTail``)."""
    if name.endswith(".json"):
        return _parse_unchecked(text, name)
    import yaml

    docs: list[Any] = []
    try:
        for body in yaml.load_all(text, Loader=yaml_loader()):
            docs.append(body)
    except yaml.YAMLError as e:
        return BrokenTail(docs, _yaml_error(e, SourceRef(file=name, doc=len(docs))))
    return docs


def _expand(body: Any, name: str, index: int, item_kind: str = "",
            item_api: str = "") -> Iterator[RawDoc]:
    if body is None:
        return
    if not isinstance(body, dict):
        raise InputError(SourceRef(file=name, doc=index), "",
                         f"expected a Kubernetes object, found {type(body).__name__}")
    if item_kind and not body.get("kind"):
        # Items of a typed list (PodList from the API) carry no kind of their own.
        body = {"kind": item_kind, "apiVersion": item_api, **body}
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(SourceRef(file=name, doc=index), "kind",
                         "missing: not a Kubernetes object")
    if kind == "List" or (kind.endswith("List") and isinstance(body.get("items"), list)):
        items = body.get("items") or []
        if not isinstance(items, list):
            raise InputError(SourceRef(file=name, doc=index, kind=kind), "items",
                             "must be a list")
        typed = kind[: -len("List")] if kind != "List" else ""
        for item in items:
            yield from _expand(item, name, index, typed, str(body.get("apiVersion", "")))
        return
    yield RawDoc(name, index, body)


class Docs(list[RawDoc]):
    """Raw documents plus the warnings reading them produced (files skipped in directories),
    and each file's text (to point at a line of it: see ``podnet.model.lines``)."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.texts: dict[str, str] = {}


def read_texts(texts: Iterable[tuple[str, str]], lenient: Iterable[str] = (),
               keep_prefix: bool = False) -> Docs:
    """Parse (name, text) pairs into raw documents, in order.

    Files named in ``lenient`` were found by walking a directory: one that is not a
    Kubernetes manifest is skipped with a warning (as ``kubectl`` users keep READMEs and JSON
    reports beside manifests); a file named explicitly must be valid. With ``keep_prefix``
    (netpol-analyzer's reading, for ``podnet connlist``) such a file whose YAML breaks keeps
    the documents before the break, and the warning names the document where reading stopped.
    """
    skip_ok = set(lenient)
    docs = Docs()
    for name, text in texts:
        try:
            bodies = _parse_text(text, name, keep_prefix and name in skip_ok)
            found = [d for index, body in enumerate(bodies) for d in _expand(body, name, index)]
        except InputError as e:
            if name not in skip_ok:
                raise
            docs.warnings.append(f"skipped {e}")
            continue
        if isinstance(bodies, BrokenTail):
            docs.warnings.append(f"skipped the rest of {bodies.error}")
        docs.extend(found)
        docs.texts[name] = text
    return docs


@dataclass(frozen=True, slots=True)
class Gathered:
    """Every input's text, read once and in order, before any of it is parsed: what the model
    is a function of (with the build options), so ``podnet.cli.modelcache`` keys on it.
    ``digest`` covers every byte read, with each file's name and how it was found."""

    texts: list[tuple[str, str]]
    lenient: list[str]
    warnings: list[str]
    digest: str  # hex; empty when not asked for


def gather(paths: Iterable[str], digest: bool = False) -> Gathered:
    """Read every path (file, directory, or ``-`` for stdin) as text, within the limits of
    ``podnet.model.limits``; with ``digest``, hash what was read on the way."""
    reader = Reader(digest=hashlib.sha256() if digest else None)
    texts: list[tuple[str, str]] = []
    lenient: list[str] = []
    for path in paths:
        reader.mark(f"arg {path}")
        if path == "-":
            texts.append(("<stdin>", reader.stdin()))
            continue
        files, walked = reader.files(path)
        lenient.extend(str(f) for f in walked)
        for f in files:
            reader.mark("walked" if walked else "named")
            texts.append((str(f), reader.file(f)))
    for w in reader.warnings:  # a skipped file's reason (a dangling link's target) is output
        reader.mark(f"warning {w}")
    return Gathered(texts, lenient, list(reader.warnings), reader.hexdigest())


def parse_gathered(gathered: Gathered, keep_prefix: bool = False) -> Docs:
    """The raw documents of what ``gather`` read (``keep_prefix``: see ``read_texts``)."""
    docs = read_texts(gathered.texts, gathered.lenient, keep_prefix)
    docs.warnings[:0] = gathered.warnings
    return docs


def read_paths(paths: Iterable[str], keep_prefix: bool = False) -> Docs:
    """Read every path (file, directory, or ``-`` for stdin) into raw documents, within the
    limits of ``podnet.model.limits`` (``keep_prefix``: see ``read_texts``)."""
    return parse_gathered(gather(paths), keep_prefix)
