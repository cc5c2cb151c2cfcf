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

from harness.config import REST_OF_CONTEXT, SamplingConfig
from harness.errors import HarnessError


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
    # The generated token ids, the stop token included (num_tokens of them): with per-sample
    # seeding, their first B are what max_new_tokens=B gives (`harness.eval.budgets`).
    # None from an engine that does not report them.
    token_ids: list[int] | None = None


class Engine(Protocol):
    name: str
    model_id: str
    max_context: int | None  # prompt + generated tokens the model takes; None when unknown

    @property
    def tokenizer(self): ...  # a transformers tokenizer, for chat templates and token counts

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        """One list of completions per request, in `sample_indices` order."""
        ...


def check_context(requests: list[GenerationRequest], prompt_lengths: list[int], max_new_tokens: int | str,
                  max_context: int | None, model: str) -> list[int]:
    """Each request's new-token budget; refuse, in one line, any request whose prompt plus its budget goes past the context.

    A model asked past its context silently degrades (positions it never saw) or is cut off
    without saying so, so the caller must size prompts and `max_new_tokens` to fit. Under
    `max_new_tokens: context` a request's budget is what its prompt leaves of the context.
    """
    if max_new_tokens == REST_OF_CONTEXT:
        if max_context is None:
            raise HarnessError(f"max_new_tokens: {REST_OF_CONTEXT} needs the context length of {model}, which is "
                               "unknown; set engine.max_model_len")
        budgets = [max_context - n for n in prompt_lengths]
        full = next((i for i, b in enumerate(budgets) if b < 1), None)
        if full is not None:
            raise HarnessError(f"request {requests[full].seed_key!r} needs {prompt_lengths[full]} prompt tokens, "
                               f"which leave no room in the {max_context}-token context of {model} (the prompt alone "
                               "fills the context)")
        return budgets
    if not isinstance(max_new_tokens, int):
        raise HarnessError(f"max_new_tokens must be a number of tokens or {REST_OF_CONTEXT}, got {max_new_tokens!r}")
    budgets = [max_new_tokens] * len(requests)
    if max_context is None or not requests:
        return budgets
    worst = max(range(len(requests)), key=prompt_lengths.__getitem__)
    need = prompt_lengths[worst] + max_new_tokens
    if need > max_context:
        room = max_context - prompt_lengths[worst]
        hint = (f"lower max_new_tokens to at most {room}" if room > 0
                else "the prompt alone fills the context")
        raise HarnessError(
            f"request {requests[worst].seed_key!r} needs {prompt_lengths[worst]} prompt tokens + "
            f"max_new_tokens {max_new_tokens} = {need}, past the {max_context}-token context of {model} ({hint})"
        )
    return budgets


def reserved_tokens(max_new_tokens: int | str) -> int:
    """The new tokens a prompt must leave room for: `max_new_tokens`, or one under `context` (the least a reply needs)."""
    return 1 if max_new_tokens == REST_OF_CONTEXT else int(max_new_tokens)


def model_context(config, cap: int | None = None) -> int | None:
    """The positions a transformers model config allows, capped by `cap` (engine.max_model_len)."""
    limit = None
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            limit = value
            break
    if cap is not None:
        limit = cap if limit is None else min(limit, cap)
    return limit


def free_memory() -> None:
    """Collect released models and hand cached accelerator memory back to the device."""
    import gc

    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
