"""Where each object starts in its file: the line (and column) of a document, or of an item of a
``kind: List`` dump, for reports that point into the manifest (SARIF, editors).

Documents are numbered as ``load.py`` numbers them (the index PyYAML's ``load_all`` gives, empty
documents included); the position is the document's first node, found by composing the YAML
(node marks) rather than by counting ``---`` lines, which block scalars and comments can fool.
"""

from __future__ import annotations

from typing import Any

import yaml

from podnet.model.load import yaml_loader

Position = tuple[int, int]  # 1-based line and column
Key = tuple[int, str, str, str]  # (document, kind, namespace as written, name); List items only


def _scalar(node: Any, key: str) -> str:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return str(v.value) if isinstance(v, yaml.ScalarNode) else ""
    return ""


def _child(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _at(node: Any) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class Lines:
    """Positions of the documents and List items of one file's text."""

    def __init__(self, text: str) -> None:
        self.documents: list[Position] = []
        self.items: dict[Key, Position] = {}
        try:
            nodes = list(yaml.compose_all(text, Loader=yaml_loader()))
        except yaml.YAMLError:
            return  # load.py would have refused it; no positions, no crash
        for index, node in enumerate(nodes):
            self.documents.append(_at(node) if node is not None else (1, 1))
            items = _child(node, "items")
            if not _scalar(node, "kind").endswith("List") or not isinstance(items, yaml.SequenceNode):
                continue
            for item in items.value:
                meta = _child(item, "metadata")
                key = (index, _scalar(item, "kind"), _scalar(meta, "namespace"), _scalar(meta, "name"))
                self.items.setdefault(key, _at(item))

    def position(self, doc: int, kind: str = "", namespace: str = "", name: str = "") -> Position:
        """Where object ``kind namespace/name`` of document ``doc`` starts (its document's start
        when it is not a List item; line 1 when the document is unknown)."""
        for ns in (namespace, "", "default"):
            hit = self.items.get((doc, kind, ns, name))
            if hit is not None:
                return hit
        if 0 <= doc < len(self.documents):
            return self.documents[doc]
        return 1, 1
