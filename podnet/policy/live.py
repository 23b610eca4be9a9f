"""A model kept in memory and brought up to date from the files that changed (``podnet watch``).

Files are polled (their size, mtime and inode: no dependency, and it works on every file
system, network mounts included). Only changed, added or removed files are read again. When
the documents of those files differ only in NetworkPolicies, the model is updated in place of
a rebuild: the Cluster keeps its pods, namespaces and services (the same objects) and only the
changed policies are compiled again, which is what lets ``incremental`` share the class space.
Any other change rebuilds the model from the documents of every file, still read once.

An update that fails (bad YAML, a bad field) raises ``InputError`` and leaves the
previous model in place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from podnet.errors import UsageError
from podnet.model.cluster import Cluster, build
from podnet.model.defaults import DEFAULT_NAMESPACE
from podnet.model.load import RawDoc, read_texts
from podnet.model.objects import NetworkPolicy
from podnet.model.parse import parse
from podnet.model.sources import Reader
from podnet.policy.compile import Compiled, compile_cluster, compile_policies
from podnet.policy.diff import ConnDiff
from podnet.policy.incremental import ATTRS, Changes, Version, incremental_diff, version

Stat = tuple[int, int, int]  # mtime_ns, size, inode
# by key: the policy, its index in the cluster's policies, in the ingress and egress targets
Layout = tuple[dict[str, NetworkPolicy], dict[str, int], dict[str, int], dict[str, int]]
POLICY = "NetworkPolicy"


def scan(paths: Sequence[str]) -> dict[str, Stat]:
    """Every manifest file the paths name, as ``podnet.model.load.gather`` would read them."""
    out: dict[str, Stat] = {}
    reader = Reader()
    for path in paths:
        files, _ = reader.files(path)
        for f in files:
            try:
                st = os.stat(f)
            except OSError:
                continue  # gone between the walk and the stat: the next scan sees it
            out[str(f)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def _policy_doc(d: RawDoc) -> bool:
    return d.body.get("kind") == POLICY


class LiveModel:
    def __init__(self, paths: Sequence[str], *, nodes: int = 3,
                 ipblock_matches_pods: bool = False) -> None:
        if not paths or "-" in paths:
            raise UsageError("watch needs files or directories (-f PATH); stdin cannot be watched")
        self.paths = list(paths)
        self.nodes = nodes
        self.ipb = ipblock_matches_pods
        self.stats: dict[str, Stat] = {}
        self.docs: dict[str, list[RawDoc]] = {}
        self.lenient: set[str] = set()
        self.warnings: list[str] = []  # of the last update
        self._layouts: Layout | None = None
        self._changes: Changes | None = None  # what ``_in_place`` changed, for the diff
        stats = scan(self.paths)
        self.docs = self._read(stats, set(stats))
        self.stats = stats
        cluster = self._build()
        self.version = version(cluster, compile_cluster(cluster, ipblock_matches_pods=self.ipb))
        _prepare(self.version)
        self._layout()

    def _read(self, stats: dict[str, Stat], names: set[str]) -> dict[str, list[RawDoc]]:
        """The documents of ``names`` (read now), keyed by file; nothing is stored."""
        reader = Reader()
        lenient: set[str] = set()
        for path in self.paths:
            _, walked = reader.files(path)
            lenient |= {str(f) for f in walked}
        self.lenient = lenient
        out: dict[str, list[RawDoc]] = {}
        for name in sorted(names):
            if name not in stats:
                continue
            docs = read_texts([(name, reader.file(Path(name)))], lenient)
            self.warnings += docs.warnings
            out[name] = list(docs)
        return out

    def _all_docs(self, docs: dict[str, list[RawDoc]]) -> list[RawDoc]:
        return [d for name in sorted(docs) for d in docs[name]]

    def _build(self, docs: dict[str, list[RawDoc]] | None = None) -> Cluster:
        return build(self._all_docs(self.docs if docs is None else docs), nodes=self.nodes)

    @property
    def cluster(self) -> Cluster:
        return self.version.cluster

    def changed(self) -> dict[str, Stat] | None:
        """The files' stats now, when they differ from the model's."""
        now = scan(self.paths)
        return None if now == self.stats else now

    def update(self, stats: dict[str, Stat]) -> ConnDiff:
        """Bring the model to the files as ``stats`` saw them; the connectivity that changed.
        On ``InputError`` the model stays as it was (and these stats are remembered, so the
        same bad file is not read again until it changes)."""
        self.warnings = []
        self._changes = None
        names = {n for n in stats.keys() | self.stats.keys() if stats.get(n) != self.stats.get(n)}
        try:
            fresh = self._read(stats, names)
            docs = {n: d for n, d in self.docs.items() if n not in names} | fresh
            new = self._policies_only(names, fresh)
            if new is None:
                self._layouts = None
                cluster = self._build(docs)
                new = version(cluster, compile_cluster(cluster, ipblock_matches_pods=self.ipb),
                              self.version)
        except BaseException:
            self.stats = stats
            self._layouts = None  # ``_in_place`` may have filed objects of the refused version
            raise
        try:
            result = incremental_diff(self.version, new, self._changes)
        except BaseException:
            self._layouts = None  # it may hold the edited policies: built again from the model
            raise
        _prepare(new)
        self.version, self.docs, self.stats = new, docs, stats
        self._layout()
        return result

    def _policies_only(self, names: set[str], fresh: dict[str, list[RawDoc]]) -> Version | None:
        """The new version when the changed files differ only in NetworkPolicies whose
        namespaces exist; None when the model must be rebuilt."""
        for n in names:
            before = [d.body for d in self.docs.get(n, []) if not _policy_doc(d)]
            after = [d.body for d in fresh.get(n, []) if not _policy_doc(d)]
            if before != after:
                return None
        cluster = self.cluster
        added = self._parse(fresh)
        if added is None or any(p.namespace not in cluster.namespaces for p in added):
            return None
        gone = [p for p in cluster.policies if p.source.file in names]
        layout = self._layout()
        types = {p.key: p.policy_types for p in gone}
        if (len(gone) == len(added) == len(types) == len({p.key for p in added})
                and all(types.get(p.key) == p.policy_types for p in added)):
            # The same policies by name and kind (an edit of their rules or selectors): each
            # keeps its place, so nothing is sorted, checked for duplicates or compared anew.
            return self._in_place(added, layout)
        self._layouts = None
        kept = [p for p in cluster.policies if p.source.file not in names]
        policies = sorted([*kept, *added], key=lambda p: (p.namespace, p.name))
        if len({(p.namespace, p.name) for p in policies}) < len(policies):
            return None  # one defined twice: the rebuild keeps the last read, with a warning
        new_cluster = replace(cluster, policies=tuple(policies))
        return version(new_cluster, self._recompile(cluster.policies, policies), self.version)

    def _parse(self, fresh: dict[str, list[RawDoc]]) -> list[NetworkPolicy] | None:
        """The policies of the changed files; a document equal to the one read before (same
        file, same place) keeps its policy object, so it is neither parsed nor compiled."""
        warnings: list[str] = []
        by_key = self._layout()[0]
        out: list[NetworkPolicy] = []
        for n in sorted(fresh):
            before = self.docs.get(n, [])
            for i, d in enumerate(fresh[n]):
                if not _policy_doc(d):
                    continue
                if i < len(before) and before[i].doc == d.doc and before[i].body == d.body:
                    old = by_key.get(_doc_key(d))
                    if old is not None and old.source.file == n and old.source.doc == d.doc:
                        out.append(old)
                        continue
                parsed = parse(d, warnings)
                if not isinstance(parsed, NetworkPolicy):
                    return None
                out.append(parsed)
        self.warnings += warnings
        return out

    def _layout(self) -> Layout:
        """Where each policy sits: by key, its index in the cluster's policies and in the
        compiled ingress and egress targets (built once per set of policy names)."""
        if self._layouts is None:
            v = self.version
            self._layouts = ({p.key: p for p in v.cluster.policies},
                             {p.key: i for i, p in enumerate(v.cluster.policies)},
                             {t.policy: i for i, t in enumerate(v.compiled.ingress)},
                             {t.policy: i for i, t in enumerate(v.compiled.egress)})
        return self._layouts

    def _in_place(self, added: list[NetworkPolicy], layout: Layout) -> Version:
        by_key, at, at_in, at_eg = layout
        before = self.version.compiled
        edited = [p for p in added if by_key[p.key] is not p]
        fresh = compile_policies(edited, ipblock_matches_pods=self.ipb)
        policies = list(self.cluster.policies)
        ingress, egress = list(before.ingress), list(before.egress)
        changed: Changes = {a: ([], []) for a in ATTRS}
        for p in edited:
            policies[at[p.key]] = by_key[p.key] = p
        for targets, where, new, attr in ((ingress, at_in, fresh.ingress, "ingress"),
                                          (egress, at_eg, fresh.egress, "egress")):
            for t in new:
                i = where[t.policy]
                if targets[i] != t:
                    changed[attr][0].append(targets[i])
                    changed[attr][1].append(t)
                targets[i] = t
        self._changes = changed
        cluster = replace(self.cluster, policies=tuple(policies))
        return version(cluster, replace(before, ingress=tuple(ingress), egress=tuple(egress)),
                       self.version)

    def _recompile(self, old: Sequence[NetworkPolicy], new: list[NetworkPolicy]) -> Compiled:
        """The compiled policies, compiling only the policies that are not the old objects."""
        before = self.version.compiled
        same = {id(p) for p in old}
        ingress = {t.policy: t for t in before.ingress}
        egress = {t.policy: t for t in before.egress}
        fresh = compile_policies([p for p in new if id(p) not in same],
                                 ipblock_matches_pods=self.ipb)
        ingress |= {t.policy: t for t in fresh.ingress}
        egress |= {t.policy: t for t in fresh.egress}
        return replace(before,
                       ingress=tuple(ingress[p.key] for p in new
                                     if "Ingress" in p.policy_types and p.key in ingress),
                       egress=tuple(egress[p.key] for p in new
                                    if "Egress" in p.policy_types and p.key in egress))


def _prepare(v: Version) -> None:
    """The compiled targets, so that the next policy edit is quick too (already there after
    one; with admin tiers every edit takes the general path, which does not use them)."""
    if not (v.compiled.admin_ingress or v.compiled.admin_egress):
        v.prepare()


def _doc_key(d: RawDoc) -> str:
    """The key a policy document's object gets (``parse``'s namespace default)."""
    meta = d.body.get("metadata")
    if not isinstance(meta, dict):
        return ""
    return f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{meta.get('name')}"
