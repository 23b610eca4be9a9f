"""The payload of a model cache entry: the cluster pickled in sections, unpickled on first use.

A question about two pods needs two namespaces of a 5,000-namespace cluster; unpickling all of
it (165,000 pods, 135,000 frozen dataclasses) was most of a repeated ``explain``. So each
namespace is a section of its own (the Namespace, its pods, its NetworkPolicies), each other
large field is one, and ``load`` returns a ``LazyCluster``: a ``Cluster`` whose fields are
unpickled when first read, and whose ``pod``, ``namespace`` and ``policies_in`` read only the
namespace asked about. What is read is the same objects in the same order as a full load.

The payload is whole in memory and its HMAC checked (``podnet.cli.modelcache``) before
anything here runs: laziness only defers unpickling, never reading or checking.

Ingresses are sections by the host they shape (``podnet.model.ingress_hosts``): on an input
with thousands of them they are most of the model, and ``podnet http`` reads those of one host.
A load for some ``hosts`` gets a model whose ``ingresses`` are only those shaping them (plus
the ones that shape every server, and the first, so a view of an input with Ingresses is never
empty: the stand-in controller depends on it), in the model's order.

Layout: ``FORMAT``, the head's length (8 bytes, big-endian), the head (a pickle of the section
table, the namespaces in order and the fields loaded at once), then the sections.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import operator
import pickle
import struct
from collections.abc import Callable, Mapping
from types import BuiltinFunctionType, MappingProxyType
from typing import Any

from podnet.model.cluster import Cluster
from podnet.model.objects import Namespace, NetworkPolicy, Pod

FORMAT = b"podnet-model-sections-2\n"
_ALWAYS = ""  # the Ingresses every host's view holds (no host is the empty string)
_LENGTH = struct.Struct(">Q")
# Small fields, read by every command (``warn`` prints the warnings): in the head.
EAGER = ("net", "lb_pools", "warnings", "admin_policies")
# Fields grouped per namespace (when the model keeps them in namespace order, as ``build``
# does); the rest of the large fields are a section each.
GROUPED = ("pods", "policies")
_INDEX = "_pod_index"

# -- pickling the model fast ----------------------------------------------------------------
# The model is frozen dataclasses (most with __slots__), NamedTuples and MappingProxyTypes.
# Pickle's defaults are slow on the first two (a Python __setstate__ per object walks
# dataclasses.fields; a NamedTuple's __new__ is Python too) and refuse the third, so each gets
# a reduction that rebuilds it with one call: the class with its fields, ``tuple.__new__``
# (C) for a NamedTuple, a dict under a proxy. The reductions sit in a dispatch table that
# pickle's C code looks up per type (a ``reducer_override`` would be a Python call for every
# object, more than the rest of the dump).


def _proxy(d: dict[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(d)


def _tuple_new() -> Callable[..., Any]:
    """``tuple.__new__``, which pickle cannot name: pickled once as a call to this."""
    return tuple.__new__


def _reducer(cls: type) -> Callable[[Any], Any] | None:
    if cls is MappingProxyType:
        return _reduce_proxy
    if cls is BuiltinFunctionType:
        return _reduce_builtin
    if not cls.__module__.startswith("podnet."):
        return None
    if dataclasses.is_dataclass(cls):
        fields = dataclasses.fields(cls)
        if not all(f.init for f in fields):  # not all of it goes back through __init__
            return None
        get = operator.attrgetter(*(f.name for f in fields))
        if len(fields) == 1:
            return lambda o: (cls, (get(o),))
        return lambda o: (cls, get(o))
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _reduce_named
    return None


def _reduce_proxy(m: Any) -> tuple[Any, ...]:
    return (_proxy, (dict(m),))


def _reduce_named(t: Any) -> tuple[Any, ...]:
    return (tuple.__new__, (type(t), tuple(t)))


def _reduce_builtin(f: Any) -> Any:
    return (_tuple_new, ()) if f is tuple.__new__ else f.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


class _Reductions(dict[type, Callable[[Any], Any]]):
    def __missing__(self, cls: type) -> Callable[[Any], Any]:
        found = _reducer(cls)
        if found is None:
            raise KeyError(cls)  # pickle's default reduction
        self[cls] = found
        return found


class _Pickler(pickle.Pickler):
    dispatch_table = _Reductions()


# Only the model's own classes (and what parsed YAML holds: dates) come back out of a pickle;
# the HMAC already guarantees this process wrote it, this keeps a bug from becoming more.
_OTHER_GLOBALS = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "timezone"),
                  ("datetime", "timedelta")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("podnet.") or (module, name) in _OTHER_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of the model")


def _pickle(obj: object) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _unpickle(data: bytes | memoryview) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


# -- writing ---------------------------------------------------------------------------------

def _groups(items: tuple[Any, ...], order: list[str]) -> dict[str, tuple[Any, ...]] | None:
    """``items`` split by namespace, or None unless joining the groups in ``order`` gives back
    ``items`` exactly (each namespace one run, every namespace known)."""
    groups = {ns: tuple(run) for ns, run in itertools.groupby(items, key=lambda o: o.namespace)}
    if not set(order).issuperset(groups):
        return None
    joined = tuple(o for ns in order for o in groups.get(ns, ()))
    if len(joined) != len(items) or any(a is not b for a, b in zip(joined, items, strict=True)):
        return None
    return groups


def _ingress_shards(cluster: Cluster) -> dict[str, list[tuple[int, Any]]]:
    """(index, Ingress) by each host it shapes; every-server ones and the first under _ALWAYS."""
    from podnet.model.ingress_hosts import shaped_hosts

    shards: dict[str, list[tuple[int, Any]]] = {}
    for i, ing in enumerate(cluster.ingresses):
        hosts = shaped_hosts(ing)
        for h in sorted({_ALWAYS} if hosts is None or i == 0 else hosts):
            shards.setdefault(h, []).append((i, ing))
    return shards


def dumps(cluster: Cluster) -> bytes:
    """The cluster as a sectioned payload (see the module's docstring)."""
    order = list(cluster.namespaces)
    grouped = {name: _groups(getattr(cluster, name), order) for name in GROUPED}
    sections: dict[str, bytes] = {}
    for ns in order:
        sections["ns:" + ns] = _pickle((cluster.namespaces[ns],
                                        *((g or {}).get(ns, ()) for g in grouped.values())))
    for f in dataclasses.fields(Cluster):
        if (f.name in EAGER or f.name in ("namespaces", _INDEX, "ingresses")
                or grouped.get(f.name) is not None):
            continue  # the index is rebuilt from the pods, as ``build`` makes it
        sections["field:" + f.name] = _pickle(getattr(cluster, f.name))
    for host, shard in _ingress_shards(cluster).items():
        sections["ingress:" + host] = _pickle(tuple(shard))
    table: dict[str, tuple[int, int]] = {}
    at = 0
    for name, data in sections.items():
        table[name] = (at, len(data))
        at += len(data)
    head = _pickle({"order": order, "table": table,
                    "grouped": [name for name, g in grouped.items() if g is not None],
                    "eager": {name: getattr(cluster, name) for name in EAGER}})
    return b"".join((FORMAT, _LENGTH.pack(len(head)), head, *sections.values()))


# -- reading ---------------------------------------------------------------------------------

class _Sections:
    """The verified payload and what has been unpickled from it."""

    def __init__(self, data: bytes, hosts: frozenset[str] | None = None) -> None:
        self.hosts = hosts
        if not data.startswith(FORMAT):
            raise ValueError("not a sectioned model")
        (size,) = _LENGTH.unpack_from(data, len(FORMAT))
        start = len(FORMAT) + _LENGTH.size
        head = _unpickle(memoryview(data)[start:start + size])
        self.body = memoryview(data)[start + size:]
        self.table: dict[str, tuple[int, int]] = head["table"]
        self.order: list[str] = head["order"]
        self.known = frozenset(self.order)
        self.grouped = frozenset(head["grouped"])
        self.eager: dict[str, Any] = head["eager"]
        self.bundles: dict[str, tuple[Namespace, tuple[Pod, ...], tuple[NetworkPolicy, ...]]] = {}

    def section(self, name: str) -> Any:
        at, size = self.table[name]
        return _unpickle(self.body[at:at + size])

    def bundle(self, ns: str) -> tuple[Namespace, tuple[Pod, ...], tuple[NetworkPolicy, ...]]:
        found = self.bundles.get(ns)
        if found is None:
            found = self.bundles[ns] = self.section("ns:" + ns)
        return found

    def ingresses(self) -> tuple[Any, ...]:
        """Every Ingress, or with ``hosts`` those shaping them, in the model's order."""
        names = [n for n in self.table if n.startswith("ingress:")]
        if self.hosts is not None:
            wanted = {"ingress:" + h for h in self.hosts | {_ALWAYS}}
            names = [n for n in names if n in wanted]
        found: dict[int, Any] = {}
        for n in names:
            found.update(self.section(n))
        return tuple(found[i] for i in sorted(found))

    def joined(self, part: int) -> tuple[Any, ...]:
        parts: list[tuple[Any, ...]] = [self.bundle(ns)[part] for ns in self.order]  # type: ignore[misc]
        return tuple(itertools.chain.from_iterable(parts))


class _Lazy:
    """A field unpickled on first read, then an ordinary attribute (this descriptor defines no
    ``__set__``, so the instance's own value shadows it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: LazyCluster | None, owner: type) -> Any:
        if obj is None:
            return self
        value = obj._load(self.name)
        obj.__dict__[self.name] = value
        return value


class LazyCluster(Cluster):
    """A ``Cluster`` read from a cache entry: equal to the model it was written from, loading
    each part when first used. ``dataclasses.replace`` of it is whole (every field read)."""

    _sections: _Sections

    def _load(self, name: str) -> Any:
        s = self._sections
        if name == "namespaces":
            return MappingProxyType({ns: s.bundle(ns)[0] for ns in s.order})
        if name == _INDEX:
            return MappingProxyType({p.key: i for i, p in enumerate(self.pods)})
        if name in s.grouped:
            return s.joined(1 + GROUPED.index(name))
        if name == "ingresses":
            return s.ingresses()
        return s.section("field:" + name)

    def _lazy(self, name: str) -> bool:
        """Whether ``name`` is still unread and kept per namespace (not so once read, nor in
        a copy made by ``dataclasses.replace``, which has no sections)."""
        s = self.__dict__.get("_sections")
        return name not in self.__dict__ and s is not None and name in s.grouped

    def pod(self, key: str) -> Pod | None:
        if not self._lazy("pods"):
            return super().pod(key)
        ns = key.partition("/")[0]
        if ns not in self._sections.known:
            return None
        return next((p for p in self._sections.bundle(ns)[1] if p.key == key), None)

    def namespace(self, name: str) -> Namespace | None:
        if "namespaces" in self.__dict__ or "_sections" not in self.__dict__:
            return super().namespace(name)
        return self._sections.bundle(name)[0] if name in self._sections.known else None

    def policies_in(self, namespace: str) -> tuple[NetworkPolicy, ...]:
        if not self._lazy("policies"):
            return super().policies_in(namespace)
        s = self._sections
        return s.bundle(namespace)[2] if namespace in s.known else ()

    def __eq__(self, other: object) -> bool:
        """Field by field, as ``Cluster``'s, with a plain ``Cluster`` too."""
        if not isinstance(other, Cluster):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name)
                   for f in dataclasses.fields(Cluster) if f.compare)

    __hash__ = Cluster.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the plain ``Cluster`` it stands for."""
        return (Cluster, tuple(getattr(self, f.name) for f in dataclasses.fields(Cluster)))


for _field in dataclasses.fields(Cluster):
    if _field.name not in EAGER:
        setattr(LazyCluster, _field.name, _Lazy(_field.name))


def loads(data: bytes, hosts: frozenset[str] | None = None) -> LazyCluster:
    """A ``LazyCluster`` over a payload from ``dumps`` (already authenticated by the caller);
    with ``hosts``, a view whose ``ingresses`` are those shaping these hosts (see above)."""
    sections = _Sections(data, hosts)
    cluster = object.__new__(LazyCluster)
    object.__setattr__(cluster, "_sections", sections)
    for name, value in sections.eager.items():
        object.__setattr__(cluster, name, value)
    return cluster
