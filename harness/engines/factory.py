"""Pick and build an engine from the engine registry: `auto` prefers vLLM when it is installed and a GPU is present."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness.config import EngineConfig, data_parallel_problem
from harness.engines.base import Engine
from harness.errors import HarnessError
from harness.fingerprint import folder_problem, looks_like_path
from harness.flag_names import spell
from harness.registries import AUTO_ENGINE, ENGINES, engine_names


def _gpu_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def choose_engine(cfg: EngineConfig) -> str:
    """The concrete engine name for `cfg.name` (auto resolved)."""
    known = engine_names()
    if cfg.name not in known:
        raise HarnessError(f"unknown engine {cfg.name!r} (known: {', '.join(known)})")
    if cfg.name != AUTO_ENGINE:
        return cfg.name
    return "vllm" if importlib.util.find_spec("vllm") is not None and _gpu_available() else "transformers"


def load_engine(model: str, cfg: EngineConfig) -> Engine:
    """Load `model` (a local folder or a Hub id) into the configured engine.

    An engine class may name the package it needs in `requires`: a missing one is a
    one-line error here, before the engine's module reaches for it.
    """
    path = Path(model).expanduser()
    if looks_like_path(model) or path.exists():
        if not path.is_dir():
            raise HarnessError(f"model path does not exist or is not a folder: {model}")
        problem = folder_problem(path)
        if problem:
            raise HarnessError(problem)
        model = str(path)
    name = choose_engine(cfg)
    problem = missing_package(name) or data_parallel_problem(cfg, name)
    if problem:
        raise HarnessError(problem)
    if cfg.data_parallel_size > 1:
        from harness.engines.replicas import ReplicatedEngine

        return ReplicatedEngine(model, cfg, name)
    return ENGINES.get(name)(model, cfg)


def missing_package(name: str) -> str | None:
    """Why engine `name` cannot be built here (the package its class `requires` is not installed), or None."""
    requires = getattr(ENGINES.get(name), "requires", None)
    if requires and importlib.util.find_spec(requires) is None:
        return (f"engine {name!r} chosen but {requires} is not installed (pip install {requires}), "
                f"or use {spell('engine.name', 'transformers')}")
    return None
