"""A model's identity for cache keys: what is in the folder, not where it is."""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.errors import HarnessError

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_HEAD_BYTES = 1 << 20


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()


def model_fingerprint(model: str) -> str:
    """Hash of a local folder's config, tokenizer files and weights; Hub ids hash to their id.

    Weights are hashed by name, size and their first megabyte so that fingerprinting a
    16 GB checkpoint stays instant while any retraining (new bytes) changes the key.
    """
    path = Path(model).expanduser()
    if not path.exists():
        if looks_like_path(model):
            raise HarnessError(f"model path does not exist: {model}")
        return "hub:" + model
    if not path.is_dir():
        raise HarnessError(f"model path is not a folder: {model}")
    if not (path / "config.json").is_file():
        raise HarnessError(f"model folder has no config.json: {model}")
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if not file.is_file():
            continue
        digest.update(file.name.encode())
        if file.suffix in _WEIGHT_SUFFIXES:
            digest.update(str(file.stat().st_size).encode())
            with file.open("rb") as fh:
                digest.update(fh.read(_HEAD_BYTES))
        elif file.suffix in (".json", ".jinja", ".txt", ".model"):
            digest.update(file.read_bytes())
    return "local:" + digest.hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """Content digest of a local data file, for cache keys."""
    digest = hashlib.sha256()
    with Path(path).expanduser().open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "file:" + digest.hexdigest()[:16]
