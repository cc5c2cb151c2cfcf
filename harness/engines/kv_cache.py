"""A KV cache layer for the decoding loop that grows in place.

transformers' `DynamicLayer` appends each decode step's keys and values with `torch.cat`,
which copies the whole cache every step: 13% of decoding time on the synthetic students
(cProfile of `harness.engines.decoding.decode`, 40 problems x 4 samples). `GrowingLayer`
keeps them in a buffer with spare columns and hands attention a view of the filled part,
so a step writes one column. Attention reads the same numbers, so samples are unchanged.

The decoding loop also edits a layer's `keys` and `values` from outside (rows leave, the
leading padding is cut, new rows join); the next `update` notices that they are no longer
its view and moves them into a fresh buffer, which costs the one copy `torch.cat` made.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

# Spare columns per buffer: one copy per this many decode steps instead of one per step.
SPARE = 64


class GrowingLayer(DynamicLayer):
    """A full-attention `DynamicLayer` whose keys and values are views of a larger buffer."""

    def __init__(self) -> None:
        super().__init__()
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None

    def _filled(self) -> int:
        return self.keys.shape[-2] if self.keys.dim() == 4 else 0

    def _owns_view(self) -> bool:
        """Whether keys and values are still the leading columns of this layer's buffers."""
        buffers = (self._key_buffer, self._value_buffer)
        return buffers[0] is not None and all(
            t.dim() == 4 and t.data_ptr() == b.data_ptr() and t.shape[0] == b.shape[0] and t.stride() == b.stride()
            for t, b in zip((self.keys, self.values), buffers)
        )

    def _rebuffer(self, key_states: torch.Tensor, value_states: torch.Tensor, room: int) -> None:
        filled = self._filled()
        batch, heads, _, _ = key_states.shape
        keys = key_states.new_empty((batch, heads, filled + room, key_states.shape[-1]))
        values = value_states.new_empty((batch, heads, filled + room, value_states.shape[-1]))
        if filled:
            keys[:, :, :filled] = self.keys
            values[:, :, :filled] = self.values
        self._key_buffer, self._value_buffer = keys, values

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        filled, new = self._filled(), key_states.shape[-2]
        if not self._owns_view() or filled + new > self._key_buffer.shape[-2]:
            self._rebuffer(key_states, value_states, new + SPARE)
        end = filled + new
        self._key_buffer[:, :, filled:end] = key_states
        self._value_buffer[:, :, filled:end] = value_states
        self.keys, self.values = self._key_buffer[:, :, :end], self._value_buffer[:, :, :end]
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if not self._owns_view():
            super().batch_select_indices(indices)
            return
        filled = self._filled()
        self._key_buffer, self._value_buffer = self._key_buffer[indices], self._value_buffer[indices]
        self.keys, self.values = self._key_buffer[:, :, :filled], self._value_buffer[:, :, :filled]


def growing_cache(config) -> DynamicCache:
    """A `DynamicCache` for `config` whose plain full-attention layers grow in place."""
    cache = DynamicCache(config=config)
    cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def plain(cache: DynamicCache) -> bool:
    """Rows can join or be trimmed only in a cache of plain full-attention layers."""
    return all(type(layer) in (DynamicLayer, GrowingLayer) and layer.is_initialized for layer in cache.layers)
