"""Typed access to raw manifest fields that names the field path in every error."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from podnet.errors import InputError, SourceRef


class Fields:
    """A view on one mapping inside a document, remembering its path (``spec.ingress[0]``)."""

    __slots__ = ("data", "path", "source")

    def __init__(self, data: Any, source: SourceRef, path: builtins.str = "") -> None:
        if data is None:
            data = {}
        # ``type(...) is dict`` first: the ABC isinstance check costs more, at ~300k fields a load.
        if type(data) is not dict and not isinstance(data, Mapping):
            raise InputError(source, path or "<document>",
                             f"must be a mapping, found {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.source = source
        self.path = path

    def at(self, key: builtins.str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: builtins.str, message: builtins.str) -> InputError:
        return InputError(self.source, self.at(key), message)

    def has(self, key: builtins.str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: builtins.str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        return default if value is None else value

    def sub(self, key: builtins.str) -> Fields:
        return Fields(self.data.get(key), self.source, self.at(key))

    def opt_sub(self, key: builtins.str) -> Fields | None:
        return self.sub(key) if self.has(key) else None

    def items(self, key: builtins.str) -> list[Fields]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list | tuple):  # tuple: a frozen config object's body
            raise self.error(key, f"must be a list, found {type(value).__name__}")
        at = self.at(key)
        return [Fields(v, self.source, f"{at}[{i}]") for i, v in enumerate(value)]

    def str_list(self, key: builtins.str) -> tuple[builtins.str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def str(self, key: builtins.str, default: builtins.str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, f"must be a string, found {type(value).__name__}")
        return str(value)

    def int(self, key: builtins.str, default: builtins.int | None = None) -> builtins.int | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise self.error(key, "must be an integer, found a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise self.error(key, f"must be an integer, found {value!r}")

    def bool(self, key: builtins.str, default: builtins.bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, found {value!r}")
        return value

    def str_map(self, key: builtins.str) -> dict[builtins.str, builtins.str]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, "must be a mapping of strings")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise self.error(key, f"key {k!r} must be a string")
            if v is None:
                v = ""
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise InputError(self.source, f"{self.at(key)}.{k}", "must be a string")
            out[k] = str(v)
        return out
