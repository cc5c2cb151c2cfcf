"""Pick and build an engine: `auto` prefers vLLM when it is installed and a GPU is present."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness.config import ENGINE_NAMES, EngineConfig
from harness.errors import HarnessError
from harness.fingerprint import looks_like_path

ENGINES = ENGINE_NAMES


def _gpu_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def choose_engine(cfg: EngineConfig) -> str:
    """The concrete engine name for `cfg.name` (auto resolved)."""
    if cfg.name not in ENGINES:
        raise HarnessError(f"unknown engine {cfg.name!r} (known: {', '.join(ENGINES)})")
    if cfg.name != "auto":
        return cfg.name
    return "vllm" if importlib.util.find_spec("vllm") is not None and _gpu_available() else "transformers"


def build_engine(model: str, cfg: EngineConfig):
    """Load `model` (a local folder or a Hub id) into the configured engine."""
    path = Path(model).expanduser()
    if looks_like_path(model) or path.exists():
        if not path.is_dir():
            raise HarnessError(f"model path does not exist or is not a folder: {model}")
        if not (path / "config.json").is_file():
            raise HarnessError(f"model folder has no config.json: {model}")
        model = str(path)
    name = choose_engine(cfg)
    if name == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise HarnessError("engine 'vllm' chosen but vllm is not installed (pip install vllm), or use --engine transformers")
        from harness.engines.vllm_engine import VLLMEngine

        return VLLMEngine(model, cfg)
    from harness.engines.hf import HFEngine

    return HFEngine(model, cfg)
