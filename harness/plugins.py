"""Installed plugins: which distribution an entry point comes from.

A registry names a plugin's distribution when the plugin cannot load, so that a person
knows what to fix or uninstall.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint


def origin(ep: EntryPoint) -> str:
    """`distribution NAME VERSION`, or `module M` for an entry point no installed distribution declares."""
    dist = ep.dist
    return f"module {ep.module}" if dist is None else f"distribution {dist.name} {dist.version}"


def remedy(ep: EntryPoint) -> str:
    dist = ep.dist
    return "fix the module or take it off sys.path" if dist is None else f"fix it or `pip uninstall {dist.name}`"
