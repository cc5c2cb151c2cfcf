"""Installed plugins: which distribution an entry point comes from, and what identifies its code.

A registry names a plugin's distribution when the plugin cannot load, so that a person
knows what to fix or uninstall. A method stage's key holds the plugin's distribution and
version, so that a new release of a plugin is never served a stage its old code computed;
a plugin installed from a local folder (editable or not) or run from outside site-packages
keeps its version while its code changes, so its key holds a hash of its source files too.
"""

from __future__ import annotations

import importlib
import json
import re
from importlib.metadata import Distribution, EntryPoint
from pathlib import Path
from typing import Any

from harness.store_files import file_sha256, hash_key

# This repository's own distribution: its methods are built-ins, keyed as they always were.
HARNESS_DISTRIBUTION = "distill-harness"
INSTALLED = ("site-packages", "dist-packages")  # where pip and Debian's Python put installed code


def origin(ep: EntryPoint) -> str:
    """`distribution NAME VERSION`, or `module M` for an entry point no installed distribution declares."""
    dist = ep.dist
    return f"module {ep.module}" if dist is None else f"distribution {dist.name} {dist.version}"


def remedy(ep: EntryPoint) -> str:
    dist = ep.dist
    return "fix the module or take it off sys.path" if dist is None else f"fix it or `pip uninstall {dist.name}`"


def code_identity(ep: EntryPoint | None, obj: object) -> dict[str, Any] | None:
    """What identifies a plugin entry's code in a stage key; None for the harness's own code.

    `obj` is the registered object (a method's function): its package is hashed as well as
    the entry point's, in case the entry point is a thin module that imports it from elsewhere.
    """
    if ep is None:
        return None
    dist = ep.dist
    if dist is not None and _normal(dist.name) == HARNESS_DISTRIBUTION:
        return None
    identity: dict[str, Any] = {"distribution": None if dist is None else dist.name,
                                "version": None if dist is None else dist.version}
    files = _source_files({ep.module, getattr(obj, "__module__", None) or ep.module})
    if dist is None or _from_folder(dist) or not all(_installed(path) for path in files.values()):
        identity["source"] = hash_key({name: file_sha256(path) for name, path in files.items()})
    return identity


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _from_folder(dist: Distribution) -> bool:
    """Installed from a local folder (`pip install -e .` or `pip install ./plugin`): its direct_url.json has dir_info."""
    try:
        return "dir_info" in json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return True  # unreadable: hash the source rather than trust the version


def _installed(path: Path) -> bool:
    return any(part in INSTALLED for part in path.parts)


def _source_files(modules: set[str]) -> dict[str, Path]:
    """The .py files of the top-level packages of `modules` (a single-file module: that file), by a
    name relative to the package, so that the hash follows the code and not where it lies."""
    files: dict[str, Path] = {}
    for top in {name.split(".")[0] for name in modules}:
        module = importlib.import_module(top)  # imported already: the entry point was loaded
        folders = getattr(module, "__path__", None)
        if folders is None and getattr(module, "__file__", None):
            files[top + ".py"] = Path(module.__file__).resolve()
        for folder in folders or ():
            for path in Path(folder).resolve().rglob("*.py"):
                if "__pycache__" not in path.parts:
                    files[f"{top}/{path.relative_to(Path(folder).resolve()).as_posix()}"] = path
    return files
