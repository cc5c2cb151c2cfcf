"""The engine interface: rendered prompts and n in, n completions per prompt out.

Prompts are already rendered text (chat template applied by `harness.eval.prompts`), so a
method can prefill the assistant turn with a teacher prefix and let the model continue.
Each request carries a `seed_key` (for example "aime24/7"): sample j of that request is
drawn from its own random stream derived from (sampling.seed, seed_key, j), so outputs do
not depend on batching or on where an interrupted run resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.config import EngineConfig, SamplingConfig


@dataclass
class GenerationRequest:
    prompt: str
    seed_key: str
    sample_indices: list[int]


@dataclass
class Completion:
    text: str
    num_tokens: int
    finish_reason: str  # "stop" (end of turn / eos / stop string) or "length"


class Engine(Protocol):
    name: str
    model_id: str

    @property
    def tokenizer(self): ...  # a transformers tokenizer, for chat templates and token counts

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        """One list of completions per request, in `sample_indices` order."""
        ...


def load_engine(model: str, cfg: EngineConfig) -> Engine:
    """Build the configured engine; vLLM is imported only when chosen."""
    from harness.engines.factory import build_engine

    return build_engine(model, cfg)
