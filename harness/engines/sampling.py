"""Per-sample seeded sampling that does not depend on batching.

transformers draws one random stream for the whole batch, so a sample's tokens change
with whatever else shares its batch. Instead the engine's decoding loop asks
`RowSampler` for each step's tokens: it warps each row's logits (repetition penalty,
temperature, top-k, top-p) and draws that row's token from the row's own
`torch.Generator` seeded from (seed, seed_key, sample index). Each row consumes exactly
one uniform number per step, so its stream is the same in any batch, on resume, after
other rows of its batch have finished, and on CPU or GPU (the generators live on CPU).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from harness.config import SamplingConfig


def sample_seed(seed: int, seed_key: str, index: int) -> int:
    """A stable 63-bit seed for sample `index` of request `seed_key`."""
    digest = hashlib.sha256(f"{seed}\x1f{seed_key}\x1f{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def warp(scores: torch.Tensor, context: torch.Tensor, valid: torch.Tensor, sampling: SamplingConfig) -> torch.Tensor:
    """HF-style repetition penalty over each row's real tokens, then temperature, top-k, top-p."""
    scores = scores.float()
    if sampling.repetition_penalty != 1.0:
        seen = torch.zeros_like(scores).scatter_reduce(1, context, valid.float(), reduce="amax")
        penalised = torch.where(scores < 0, scores * sampling.repetition_penalty, scores / sampling.repetition_penalty)
        scores = torch.where(seen > 0, penalised, scores)
    if sampling.temperature <= 0:
        return scores
    scores = scores / sampling.temperature
    if sampling.top_k and sampling.top_k < scores.shape[-1]:
        kth = torch.topk(scores, sampling.top_k, dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if sampling.top_p < 1.0:
        scores = scores.masked_fill(top_p_drop(scores, sampling.top_p), float("-inf"))
    return scores


def top_p_drop(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """The tokens top-p removes: a token goes when the mass of the tokens ranked above it
    already reaches `top_p` (the first always stays).

    On CPU the rows' values are sorted by numpy, without indices (18x faster than
    `torch.sort` on 64 x 1k logits, which was 14% of decoding), and the cut is mapped back
    as a score threshold. The cumulative mass is computed from the same sorted values as
    `torch.sort` gives, so the kept set is identical; where a tie at the cut would make the
    threshold ambiguous, or the cut is not a clean suffix, the rows go through `torch.sort`.
    """
    if scores.device.type == "cpu" and not bool(scores.isnan().any()):
        sorted_scores = torch.from_numpy(np.ascontiguousarray(np.sort(scores.numpy(), axis=-1)[:, ::-1]))
        drop_sorted = _drop_sorted(sorted_scores, top_p)
        kept = (~drop_sorted).sum(-1, keepdim=True)
        suffix = bool((drop_sorted[:, 1:] >= drop_sorted[:, :-1]).all())
        cut_value = sorted_scores.gather(1, kept.clamp(max=scores.shape[-1] - 1))
        last_kept = sorted_scores.gather(1, kept - 1)
        clean = (kept == scores.shape[-1]) | (last_kept > cut_value)
        if suffix and bool(clean.all()):
            return (scores <= cut_value) & (kept < scores.shape[-1])
    return sorted_top_p_drop(scores, top_p)


def sorted_top_p_drop(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """`top_p_drop` through `torch.sort` of every row: the fallback, and the engine's old way."""
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    return torch.zeros_like(scores, dtype=torch.bool).scatter(1, order, _drop_sorted(sorted_scores, top_p))


def _drop_sorted(sorted_scores: torch.Tensor, top_p: float) -> torch.Tensor:
    probs = sorted_scores.softmax(-1)
    return (probs.cumsum(-1) - probs) >= top_p


class RowSampler:
    """Chooses each row's next token from the row's own generator."""

    def __init__(self, sampling: SamplingConfig, seeds: list[int], pad_lengths: list[int]) -> None:
        self.sampling = sampling
        self.generators = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        self.pad_lengths = torch.tensor(pad_lengths)

    def choose(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.LongTensor:
        """The next token of every row, given the rows' tokens so far and the last logits."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        valid = positions[None, :] >= self.pad_lengths.to(input_ids.device)[:, None]
        warped = warp(scores, input_ids, valid, self.sampling)
        if self.sampling.temperature <= 0:
            return warped.argmax(-1)
        # One uniform per row per step, from the row's own stream; inverse-CDF draw.
        uniforms = torch.stack([torch.rand((), generator=g) for g in self.generators]).to(scores.device)
        cdf = warped.softmax(-1).cumsum(-1)
        chosen = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None]).squeeze(1)
        return chosen.clamp_max(scores.shape[-1] - 1)

    def keep(self, rows: list[int]) -> None:
        """Drop every row not in `rows` (finished rows leave the batch)."""
        self.generators = [self.generators[i] for i in rows]
        self.pad_lengths = self.pad_lengths[rows]
