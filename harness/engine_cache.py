"""Loaded engines by model folder, each released as soon as no later stage needs it."""

from __future__ import annotations

from typing import Any

from harness.config import EngineConfig


class EngineCache:
    """A GPU holds one large model at a time.

    The pipeline releases the student's engine before training starts and each evaluated
    model's engine after its last benchmark, so an engine set to take most of the GPU's
    memory (vLLM) never competes with the trainer or the next model.
    """

    def __init__(self, cfg: EngineConfig) -> None:
        self.cfg = cfg
        self.engines: dict[str, Any] = {}

    def get(self, model: str) -> Any:
        if model not in self.engines:
            from harness.engines import load_engine

            self.engines[model] = load_engine(model, self.cfg)
        return self.engines[model]

    def release(self, model: str | None = None) -> None:
        """Close and forget `model`'s engine (every engine when None) and return its memory."""
        from harness.engines.base import free_memory

        names = list(self.engines) if model is None else [model] if model in self.engines else []
        for name in names:
            engine = self.engines.pop(name)
            close = getattr(engine, "close", None)
            if close is not None:
                close()
            del engine  # the last reference: free_memory can then collect the weights
        if names:
            free_memory()
