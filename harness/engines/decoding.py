"""Continuous batching for the transformers engine: rows leave when done, new prompts join.

`model.generate` runs a batch until its longest row ends, and every row costs a forward
step until then. Answers differ widely in length (most stop early, a few run to the token
limit), so most of that work is padding. Here a finished row leaves the batch and its KV
cache at once, and once a quarter of the slots are free the next prompts are prefilled
and join the running batch: their cache is left-padded to the batch's length, which the
attention mask hides, and positions count real tokens only. Columns that are padding in
every remaining row are cut off, so the cache stays as long as the longest live row.

Each row draws from its own seeded stream (`RowSampler`), so a row's tokens do not depend
on which rows share its batch or when it joined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from harness.config import SamplingConfig
from harness.engines.kv_cache import growing_cache, plain
from harness.engines.sampling import RowSampler


@dataclass
class Rows:
    """The rows in flight: one entry per row, cache row order."""

    keys: list  # the caller's key of each row
    ids: torch.Tensor  # prompt + generated tokens, left-padded (what the repetition penalty sees)
    mask: torch.Tensor  # 1 for real tokens
    cache: DynamicCache
    sampler: RowSampler
    logits: torch.Tensor  # next-token logits of each row
    tokens: list[list[int]]  # generated so far
    limits: list[int]  # new tokens each row may generate

    def select(self, keep: torch.Tensor) -> None:
        idx = keep.tolist()
        self.cache.batch_select_indices(keep)
        self.ids, self.mask, self.logits = self.ids[keep], self.mask[keep], self.logits[keep]
        self.sampler.keep(idx)
        self.keys = [self.keys[i] for i in idx]
        self.tokens = [self.tokens[i] for i in idx]
        self.limits = [self.limits[i] for i in idx]

    def trim(self) -> None:
        """Cut the leading columns that are padding in every row."""
        cut = int((self.mask.shape[1] - self.mask.sum(-1)).min())
        if cut <= 0 or not plain(self.cache):
            return
        self.ids, self.mask = self.ids[:, cut:], self.mask[:, cut:]
        self.sampler.pad_lengths = self.sampler.pad_lengths - cut
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[:, :, cut:], layer.values[:, :, cut:]

    def extend(self, other: "Rows", pad_id: int) -> None:
        """Append `other`'s rows, left-padding the shorter side to a common length."""
        width = max(self.mask.shape[1], other.mask.shape[1])
        for rows in (self, other):
            extra = width - rows.mask.shape[1]
            if extra:
                rows.ids = F.pad(rows.ids, (extra, 0), value=pad_id)
                rows.mask = F.pad(rows.mask, (extra, 0), value=0)
                rows.sampler.pad_lengths = rows.sampler.pad_lengths + extra
                for layer in rows.cache.layers:
                    layer.keys = F.pad(layer.keys, (0, 0, extra, 0))
                    layer.values = F.pad(layer.values, (0, 0, extra, 0))
        for mine, theirs in zip(self.cache.layers, other.cache.layers):
            mine.keys = torch.cat([mine.keys, theirs.keys])
            mine.values = torch.cat([mine.values, theirs.values])
        self.ids, self.mask = torch.cat([self.ids, other.ids]), torch.cat([self.mask, other.mask])
        self.logits = torch.cat([self.logits, other.logits])
        self.sampler.generators += other.sampler.generators
        self.sampler.pad_lengths = torch.cat([self.sampler.pad_lengths, other.sampler.pad_lengths])
        self.keys += other.keys
        self.tokens += other.tokens
        self.limits += other.limits


def prefill(model, tokenizer, prompts: list[str], keys: list, seeds: list[int], limits: list[int],
            sampling: SamplingConfig, device: str) -> Rows:
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    ids, mask = enc.input_ids, enc.attention_mask
    cache = growing_cache(model.config)
    position = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: positions count real tokens only
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position, past_key_values=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1, :]
    sampler = RowSampler(sampling, seeds, (mask == 0).sum(-1).tolist())
    return Rows(list(keys), ids, mask, cache, sampler, logits, [[] for _ in keys], list(limits))


def decode(model, tokenizer, work: list[tuple[object, str, int, int]], sampling: SamplingConfig, stop_ids: list[int],
           batch_size: int, device: str) -> Iterator[tuple[object, list[int]]]:
    """Generate for every (key, prompt, seed, new-token limit) in `work`, in that admission order; yields
    (key, generated tokens) as rows finish, each ending with its stop token if it stopped."""
    stops = torch.tensor(stop_ids, device=device)
    pending = list(work)
    rows: Rows | None = None
    with torch.inference_mode():
        while pending or rows is not None:
            live = 0 if rows is None else len(rows.keys)
            free = batch_size - live
            if pending and (rows is None or (free >= max(1, batch_size // 4) and plain(rows.cache))):
                admit, pending = pending[:free], pending[free:]
                keys, prompts, seeds, limits = (list(column) for column in zip(*admit))
                new = prefill(model, tokenizer, prompts, keys, seeds, limits, sampling, device)
                if rows is None:
                    rows = new
                else:
                    rows.extend(new, tokenizer.pad_token_id)
            chosen = rows.sampler.choose(rows.ids, rows.logits)
            for tokens, token in zip(rows.tokens, chosen.tolist()):
                tokens.append(token)
            done = torch.isin(chosen, stops) | torch.tensor([len(t) >= n for t, n in zip(rows.tokens, rows.limits)],
                                                            device=chosen.device)
            for i in done.nonzero().squeeze(1).tolist():
                yield rows.keys[i], rows.tokens[i]
            if bool(done.all()):
                rows = None
                continue
            if bool(done.any()):
                keep = (~done).nonzero().squeeze(1)
                rows.select(keep)
                chosen = chosen[keep]
                rows.trim()
            rows.ids = torch.cat([rows.ids, chosen[:, None]], dim=1)
            rows.mask = torch.cat([rows.mask, rows.mask.new_ones((rows.mask.shape[0], 1))], dim=1)
            position = rows.mask.sum(-1, keepdim=True) - 1
            rows.logits = model(input_ids=chosen[:, None], attention_mask=rows.mask, position_ids=position,
                                past_key_values=rows.cache, use_cache=True, logits_to_keep=1).logits[:, -1, :]
