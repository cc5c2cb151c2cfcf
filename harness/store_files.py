"""What a published stage folder holds, how it is checked before reuse, and how it is published.

The manifest, written last, lists every file of the stage with its size and sha256 and
records the key and inputs. A folder is reused only when its manifest parses, names this
key, and every listed file is there with its size (and its hash, for files up to
`SMALL_FILE` bytes always and for every file with `verify`). Publishing swaps a finished
work folder in under its final name in one step (Linux `renameat2`), so the final name
never shows a half-written folder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
INPUTS = "inputs.json"
STORE_SCHEMA = 2  # manifests with a file list; older folders are recomputed
SMALL_FILE = 8 << 20  # files up to this size are hashed on every reuse, larger ones with --verify


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


# --------------------------------------------------------------------------- file hashes

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under `folder` except the manifest: relative path -> size and sha256."""
    out: dict[str, dict[str, Any]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel == MANIFEST or path.is_symlink():
                continue
            out[rel] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return out


def check_folder(folder: Path, key: str, verify: bool = False, small_file: int | None = None) -> str | None:
    """Why a published stage folder cannot be reused, or None when it can.

    Files up to `small_file` bytes (default `SMALL_FILE`) are hashed even without `verify`.
    """
    small_file = SMALL_FILE if small_file is None else small_file
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return f"{MANIFEST} is missing"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{MANIFEST} is unreadable or malformed ({type(exc).__name__})"
    if not isinstance(manifest, dict):
        return f"{MANIFEST} is not a JSON object"
    if manifest.get("key") != key:
        return f"{MANIFEST} names key {manifest.get('key')!r}, not the folder's {key!r} (edited?)"
    if "inputs" not in manifest or hash_key(manifest["inputs"]) != key:
        return f"the inputs in {MANIFEST} do not hash to key {key!r} (edited?)"
    files = manifest.get("files")
    if manifest.get("store_schema", 1) < STORE_SCHEMA or not isinstance(files, dict):
        return f"{MANIFEST} has no file list (written by an older harness)"
    for rel, meta in sorted(files.items()):
        path = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not isinstance(meta, dict):
            return f"{MANIFEST} lists a bad entry {rel!r}"
        if not path.is_file():
            return f"{rel} is missing"
        size = path.stat().st_size
        if size != meta.get("size"):
            return f"{rel} is {size} bytes, the manifest says {meta.get('size')}"
        if (verify or size <= small_file) and file_sha256(path) != meta.get("sha256"):
            return f"{rel} does not match its sha256 in the manifest (changed after it was written)"
    return None


# --------------------------------------------------------------------------- publishing

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2: Any = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    global _renameat2
    if _renameat2 is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _renameat2 = libc.renameat2
            _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):
            _renameat2 = False
    if not _renameat2:
        return False
    return _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def publish(work: Path, path: Path) -> None:
    """Make `work` visible as `path` in one step; an existing `path` is swapped out, then removed."""
    trash = path.with_name(f"{path.name}.trash-{os.getpid()}-{time.time_ns()}")
    if not path.exists():
        os.rename(work, path)
        return
    if _exchange(work, path):
        os.rename(work, trash)  # `work` now holds the old folder
    else:  # a file system without the exchange: the final name is missing for one rename
        os.rename(path, trash)
        os.rename(work, path)
    shutil.rmtree(trash, ignore_errors=True)
