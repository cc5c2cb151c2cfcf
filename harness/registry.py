"""Decorator registries with lazy built-ins and entry-point plugins, in the style of lm-evaluation-harness.

One `Registry` class serves every kind (methods, benchmarks, teacher sources, engines,
judges, graders, metrics; see `harness.registries`). An entry arrives in one of three ways:

- `lazy`: a built-in named as `"module:object"`, imported on first lookup, so that listing
  the names (CLI choices, error messages) never imports an engine or a dataset library;
- `builtins`: modules imported on first lookup, whose decorators (`@REG.register("name")`)
  register their entries;
- the entry-point group `group` (for example `[project.entry-points."harness.methods"]`),
  scanned on first lookup: an entry point naming a module is imported for its decorators,
  one naming an object is registered under the entry point's name.

A name is registered once: a second, different object under a taken name (a plugin that
shadows a built-in, two plugins that agree on a name) is an error, never a silent override.

A plugin that fails to import does not stop the commands that do not need it: it is skipped
with one warning line naming its distribution, and only a lookup of its entry-point name is
an error (one line: the distribution and the import error). The registry remembers which
entry point registered each plugin entry (`entry_point`), for the stage keys of plugin code.
"""

from __future__ import annotations

import importlib
import logging
import re
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from harness.errors import HarnessError, brief
from harness.plugins import origin, remedy

T = TypeVar("T")

# Registered names become store folders and CLI words: the run store's safe-name rule.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

# The CLI's log handler (`harness.console`) shows it as one line; without it, Python's last resort does.
logger = logging.getLogger("harness")


class NameClash(ValueError):
    """A second, different object under a taken name: the packages disagree, and a person must choose."""


@dataclass
class Registry(Generic[T]):
    """Names to objects of one kind; see the module docstring for how entries arrive."""

    kind: str
    group: str
    builtins: tuple[str, ...] = ()
    lazy: dict[str, str] = field(default_factory=dict)
    _entries: dict[str, T] = field(default_factory=dict)
    _plugins: dict[str, EntryPoint] = field(default_factory=dict)  # entry -> its entry point; `reset()` forgets them
    _broken: dict[str, str] = field(default_factory=dict)  # entry-point name -> why it did not load
    _warned: set[str] = field(default_factory=set)
    _builtins_loaded: bool = False
    _plugins_loaded: bool = False

    def __post_init__(self) -> None:
        for name, target in self.lazy.items():
            if not NAME.fullmatch(name) or ":" not in target:
                raise ValueError(f"{self.kind} {name!r}: a lazy entry is a safe name and 'module:object', got {target!r}")

    def register(self, name: str) -> Callable[[T], T]:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name {name!r} must match {NAME.pattern} (it names store folders)")

        def decorator(obj: T) -> T:
            self._claim(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def _claim(self, name: str, obj: T) -> None:
        if name in self.lazy and self._entries.get(name) is not obj:
            raise NameClash(f"{self.kind} {name!r} is a built-in; choose another name")
        if name in self._entries and self._entries[name] is not obj:
            raise NameClash(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def _load(self, asking: str | None = None) -> None:
        """Import the built-ins and scan the entry points once; warn once about each broken plugin,
        except the one the caller asks for by name (`get` reports that one as its error)."""
        self._load_builtins()
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for ep in entry_points(group=self.group):
                self._load_plugin(ep)
        for name, problem in self._broken.items():
            if name != asking and name not in self._warned:
                self._warned.add(name)
                logger.warning(f"skipped {self.kind} plugin {name!r}: {problem}")

    def _load_builtins(self) -> None:
        if not self._builtins_loaded:
            self._builtins_loaded = True
            for module in self.builtins:
                importlib.import_module(module)

    def _load_plugin(self, ep: EntryPoint) -> None:
        if not NAME.fullmatch(ep.name):  # `../x` would write outside the run store
            raise HarnessError(f"plugin {ep.name!r} in {self.group} ({origin(ep)}): the name must match {NAME.pattern}")
        before = set(self._entries)
        try:
            obj = ep.load()
            if not isinstance(obj, types.ModuleType):  # a module registers through its decorators
                self._claim(ep.name, obj)
        except Exception as exc:  # one line, not a traceback from deep in the CLI; a half-registered plugin is dropped
            for name in set(self._entries) - before:
                del self._entries[name]
            problem = " ".join(f"{type(exc).__name__}: {exc}".split())
            if isinstance(exc, NameClash):
                raise HarnessError(f"plugin {ep.name!r} in {self.group} ({origin(ep)}) failed to load: {exc} "
                                   f"({remedy(ep)})") from None
            self._broken[ep.name] = f"{origin(ep)} failed to import: {problem} ({remedy(ep)})"
            return
        self._plugins.update({name: ep for name in set(self._entries) - before})

    def _resolve(self, name: str) -> None:
        module, _, attr = self.lazy[name].partition(":")
        self._entries[name] = getattr(importlib.import_module(module), attr)

    def get(self, name: str) -> T:
        self._load(asking=name)
        if name not in self._entries and name in self.lazy:
            self._resolve(name)
        if name not in self._entries and name in self._broken:
            raise HarnessError(f"{self.kind} {name!r} is a plugin that did not load: {self._broken[name]}")
        if name not in self._entries:
            raise HarnessError(f"unknown {self.kind} {brief(name)} (known: {', '.join(self.names()) or 'none'})")
        return self._entries[name]

    def entry_point(self, name: str) -> EntryPoint | None:
        """The entry point whose plugin registered `name`; None for a built-in or an entry added in code."""
        self._load()
        return self._plugins.get(name)

    def names(self) -> list[str]:
        """Every name, sorted; lazy built-ins are listed without being imported."""
        self._load()
        return sorted(set(self._entries) | set(self.lazy))

    def items(self) -> list[tuple[str, T]]:
        """(name, object) for every entry, sorted by name; imports the lazy built-ins."""
        return [(name, self.get(name)) for name in self.names()]

    def reset(self) -> None:
        """Forget what the entry points registered; they are scanned again on the next lookup
        (a test that installs a plugin, then removes it). A plugin module still imported does
        not register again: a test deletes it from `sys.modules` to load it afresh."""
        for name in self._plugins:
            self._entries.pop(name, None)
        self._plugins, self._broken, self._warned = {}, {}, set()
        self._plugins_loaded = False

    @contextmanager
    def isolated(self) -> Iterator[Registry[T]]:
        """Within the block: plugins forgotten and rescanned, entries may be added; afterwards, the state as before."""
        self._load_builtins()  # imported modules do not register twice: they must not be first imported inside
        saved = dict(self._entries), dict(self._plugins), dict(self._broken), set(self._warned), self._plugins_loaded
        self.reset()
        try:
            yield self
        finally:
            self._entries, self._plugins, self._broken, self._warned, self._plugins_loaded = saved
