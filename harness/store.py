"""Content-addressed run store, one folder per stage output.

Each stage output lives at `<root>/<stage>/<key>/`, where the key hashes exactly the
inputs and settings that affect it (upstream keys included, so the chain is a Merkle
chain). Work happens in `<key>.partial/`, which survives a kill so that resumable stages
(generation, training) can pick up where they stopped; only `commit()` renames it to the
final name. A folder without the `.partial` suffix is therefore always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from harness.jsonl import read_json, write_json

DEFAULT_STORE = Path.home() / ".cache" / "harness"
MANIFEST = "manifest.json"


def default_root() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or DEFAULT_STORE)


def canonical(obj: Any) -> Any:
    """A JSON-ready, order-independent form of dataclasses, paths, tuples and mappings."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return canonical(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def hash_key(inputs: Any, length: int = 16) -> str:
    blob = json.dumps(canonical(inputs), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


class Stage:
    """One stage output: its key, its final folder and its work-in-progress folder."""

    def __init__(self, root: Path, kind: str, inputs: dict[str, Any], label: str = "") -> None:
        self.kind = kind
        self.inputs = canonical(inputs)
        self.key = hash_key(self.inputs)
        name = f"{label}-{self.key}" if label else self.key
        self.path = root / kind / name
        self.work = root / kind / f"{name}.partial"

    @property
    def done(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def begin(self, force: bool = False) -> Path:
        """Return the work folder, keeping earlier partial work unless `force`."""
        if force:
            shutil.rmtree(self.work, ignore_errors=True)
            shutil.rmtree(self.path, ignore_errors=True)
        self.work.mkdir(parents=True, exist_ok=True)
        write_json(self.work / "inputs.json", self.inputs)
        return self.work

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, then publish the folder under its final name."""
        write_json(self.work / MANIFEST, {"stage": self.kind, "key": self.key, "inputs": self.inputs, **manifest})
        if self.path.exists():  # a forced rerun replaces the old output
            shutil.rmtree(self.path)
        os.replace(self.work, self.path)
        return self.path

    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / MANIFEST)


class RunStore:
    """The store root; `stage()` names a stage output by the hash of its inputs."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def stage(self, kind: str, inputs: dict[str, Any], label: str = "") -> Stage:
        return Stage(self.root, kind, inputs, label)
