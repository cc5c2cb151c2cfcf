"""Tiny causal LMs of real architectures (Qwen2, Qwen3), built from a config.

Sizes are chosen for a 2-core CPU: `tiny` ~1M parameters and `small` ~5M (with a 1k
vocabulary). `random` fixtures in tests use the same builder.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM


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
    import torch

    s = SIZES[size]
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=s.hidden,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        intermediate_size=s.intermediate,
        max_position_embeddings=context_length,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    elif arch == "qwen3":
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=s.hidden // s.heads, **common))
    else:
        raise ValueError(f"unknown architecture {arch!r}")
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    return model


def num_parameters(model: PreTrainedModel) -> int:
    return sum(p.numel() for p in model.parameters())
