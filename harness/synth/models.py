"""Tiny causal LMs of real architectures (Qwen2, Qwen3), built from a config.

Sizes are chosen for a 2-core CPU: `tiny` ~1M parameters and `small` ~5M (with a 1k
vocabulary). The random models of tests, the bad-input corpus, `harness smoke` and
`bench/gpu_check.py` (at published shapes) use the same builder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

from harness.synth import ARCHS


@dataclass(frozen=True)
class Size:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int


SIZES = {
    "micro": Size(hidden=32, layers=2, heads=2, kv_heads=1, intermediate=64),
    "tiny": Size(hidden=128, layers=4, heads=4, kv_heads=2, intermediate=384),
    "small": Size(hidden=256, layers=6, heads=8, kv_heads=4, intermediate=768),
}


def build_model(
    tokenizer: PreTrainedTokenizerFast, size: str = "tiny", arch: str = "qwen2", context_length: int = 512, seed: int = 0
) -> PreTrainedModel:
    """A randomly initialised model of `arch` at one of the named `SIZES`."""
    s = SIZES[size]
    shape = dict(hidden_size=s.hidden, num_hidden_layers=s.layers, num_attention_heads=s.heads,
                 num_key_value_heads=s.kv_heads, intermediate_size=s.intermediate)
    if arch == "qwen3":
        shape["head_dim"] = s.hidden // s.heads
    return build_from_shape(tokenizer, arch, shape, context_length, seed)


def build_from_shape(tokenizer: PreTrainedTokenizerFast, arch: str, shape: dict[str, Any], context_length: int,
                     seed: int = 0, device: str | None = None) -> PreTrainedModel:
    """A randomly initialised model of `arch` with the config fields in `shape` (a published model's, or a toy's)."""
    import torch

    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}")
    config_cls, model_cls = {"qwen2": (Qwen2Config, Qwen2ForCausalLM), "qwen3": (Qwen3Config, Qwen3ForCausalLM)}[arch]
    config = config_cls(vocab_size=len(tokenizer), max_position_embeddings=context_length, tie_word_embeddings=True,
                        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                        **shape)
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = model_cls(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    return model


def save_random_model(path: str | Path, texts: Iterable[str], arch: str = "qwen2", size: str | dict[str, Any] = "micro",
                      context_length: int = 512, vocab_size: int = 400, seed: int = 0) -> Path:
    """A model folder: a tokenizer trained on `texts` (with the chat template) and a random `arch` model.

    `size` names one of `SIZES` or gives the config fields of a shape (`build_from_shape`).
    What the tests, the bad-input corpus and `harness smoke` load as a stand-in student;
    deterministic for the same arguments.
    """
    from harness.synth.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    if isinstance(size, str):
        model = build_model(tokenizer, size=size, arch=arch, context_length=context_length, seed=seed)
    else:
        model = build_from_shape(tokenizer, arch, size, context_length, seed)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return Path(path)


def num_parameters(model: PreTrainedModel) -> int:
    return sum(p.numel() for p in model.parameters())
