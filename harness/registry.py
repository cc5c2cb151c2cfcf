"""Decorator registries with entry-point plugins, in the style of lm-evaluation-harness.

A built-in registers itself with `@registry.register("name")` when its module is imported;
an installed package adds entries through the entry-point group named by the registry
(for example `[project.entry-points."harness.methods"]`), loaded on first lookup.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

# Registered names become store folders and CLI words: the run store's safe-name rule.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass
class Registry(Generic[T]):
    """Names to objects of one kind.

    `builtins` are module paths imported on first use; they register their entries as a
    side effect. `group` is the entry-point group scanned for plugins: each entry point
    may name a module (imported for its decorators) or an object (registered under the
    entry point's name).
    """

    kind: str
    group: str
    builtins: tuple[str, ...] = ()
    _entries: dict[str, T] = field(default_factory=dict)
    _loaded: bool = False

    def register(self, name: str) -> Callable[[T], T]:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name {name!r} must match {NAME.pattern} (it names store folders)")

        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtins:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not take the whole CLI down
                raise HarnessError(f"plugin {ep.name!r} in {self.group} failed to load: {exc}") from None
            if not isinstance(obj, type(importlib)) and ep.name not in self._entries:
                if not NAME.fullmatch(ep.name):  # `../x` would write outside the run store
                    raise HarnessError(f"plugin {ep.name!r} in {self.group}: the name must match {NAME.pattern}")
                self._entries[ep.name] = obj

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            known = ", ".join(sorted(self._entries)) or "none"
            raise HarnessError(f"unknown {self.kind} {name!r} (known: {known})")
        return self._entries[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, Any]]:
        self._load()
        return sorted(self._entries.items())
