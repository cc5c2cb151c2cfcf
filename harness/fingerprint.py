"""A model's identity for cache keys: what is in the folder, not where it is."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.errors import HarnessError

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
# Files with a weight suffix that are not weights: trainer state, pickled arguments.
_NOT_WEIGHTS = {"training_args.bin", "optimizer.pt", "optimizer.bin", "scheduler.pt", "scaler.pt", "rng_state.pth"}
_CONFIG_FILES = {"config.json", "generation_config.json"}
_TOKENIZER_FILES = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model", "chat_template.jinja", "chat_template.json",
}
_HASHES: dict[tuple, str] = {}  # (path, inode, size, mtime_ns, ctime_ns) -> sha256, within one process


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()


def fingerprinted(name: str) -> bool:
    """Whether a file of a model folder is part of its identity: weights, config and tokenizer only.

    Reports, READMEs and trainer leftovers are not, so byte-identical retrained weights keep
    their evaluation keys whatever else the folder holds.
    """
    if name in _CONFIG_FILES or name in _TOKENIZER_FILES:
        return True
    if name.endswith((".safetensors.index.json", ".bin.index.json")):
        return True
    return name.endswith(_WEIGHT_SUFFIXES) and name not in _NOT_WEIGHTS


def _sha256(path: Path) -> str:
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if cache_key not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHES[cache_key] = digest.hexdigest()
    return _HASHES[cache_key]


def model_fingerprint(model: str) -> str:
    """Hash of a local folder's weights, config and tokenizer files (full content); Hub ids hash to their id.

    Every byte of the weights counts (a LoRA merge can leave the first megabytes of a
    checkpoint untouched); a file's hash is remembered for the rest of the process while
    its size and modification time stay the same.
    """
    path = Path(model).expanduser()
    if not path.exists():
        if looks_like_path(model):
            raise HarnessError(f"model path does not exist: {model}")
        return "hub:" + model
    if not path.is_dir():
        raise HarnessError(f"model path is not a folder: {model}")
    problem = folder_problem(path)
    if problem:
        raise HarnessError(problem)
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if not file.is_file() or not fingerprinted(file.name):
            continue
        digest.update(file.name.encode())
        digest.update(_sha256(file).encode())
    return "local:" + digest.hexdigest()[:16]


WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json")


def folder_problem(folder: Path) -> str | None:
    """Why a local model folder cannot be loaded, or None: checked before any stage starts or logs."""
    problem = adapter_problem(folder)  # before config.json: an adapter folder may hold a copied one
    if problem:
        return problem
    if not (folder / "config.json").is_file():
        return f"model folder has no config.json: {folder}"
    if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_PATTERNS):
        return (f"model folder has no weights ({' or '.join(WEIGHT_PATTERNS[:2])}): {folder}; "
                "save the model with save_pretrained, or point at the folder that holds them")
    return None


def adapter_problem(folder: Path) -> str | None:
    """Why `folder`, a LoRA adapter rather than a model, must not be evaluated or trained on, or None.

    An adapter folder is not the trained model: vLLM given one loads no adapter (lm-eval #2432:
    adapters silently evaluated as their base), transformers loads the base and applies it, so
    the two engines would score different models, and the folder's fingerprint would leave the
    base out. The trainer merges its adapters into a plain model folder for this reason.
    """
    if not (folder / "adapter_config.json").is_file():
        return None
    try:
        base = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError):
        base = None
    of = f" of {base}" if base else ""
    return (f"model folder {folder} holds a LoRA adapter{of} (adapter_config.json), not a merged model, and would be "
            "loaded as its base or not at all; merge it first (peft: AutoPeftModelForCausalLM.from_pretrained(DIR)"
            ".merge_and_unload().save_pretrained(OUT), as `harness train --lora` does) and use OUT")


def file_digest(path: str | Path) -> str:
    """Content digest of a local data file, for cache keys."""
    digest = hashlib.sha256()
    with Path(path).expanduser().open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "file:" + digest.hexdigest()[:16]
