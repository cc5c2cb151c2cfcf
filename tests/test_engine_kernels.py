"""The decoding loop's two speed-ups give the same numbers as the code they replace:
the in-place KV cache (`kv_cache.py`) and top-p without `torch.sort` (`sampling.top_p_drop`)."""

import pytest
import torch
import torch.nn.functional as F
from transformers.cache_utils import DynamicLayer

from harness.engines import sampling
from harness.engines.kv_cache import SPARE, GrowingLayer


def _states(batch, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 2, length, 4, generator=g), torch.randn(batch, 2, length, 4, generator=g)


def test_growing_layer_holds_what_dynamic_layer_holds_through_every_edit():
    """Prefill, decode steps past the spare room, rows leaving, leading padding cut and rows
    joining (the edits `decoding.Rows` makes from outside): keys and values stay identical."""
    ours, ref = GrowingLayer(), DynamicLayer()

    def step(batch, length, seed):
        a, b = ours.update(*_states(batch, length, seed)), ref.update(*_states(batch, length, seed))
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])

    step(6, 5, 0)
    for i in range(SPARE + 3):  # crosses the buffer's end: it must grow, not overflow
        step(6, 1, 1 + i)
    for layer in (ours, ref):
        layer.batch_select_indices(torch.tensor([0, 2, 5]))
    step(3, 1, 100)
    for layer in (ours, ref):  # trim: cut two leading columns
        layer.keys, layer.values = layer.keys[:, :, 2:], layer.values[:, :, 2:]
    step(3, 1, 101)
    joined = _states(2, ours.keys.shape[-2], 102)
    for layer in (ours, ref):  # join: two rows appended
        layer.keys, layer.values = torch.cat([layer.keys, joined[0]]), torch.cat([layer.values, F.pad(joined[1], (0, 0, 0, 0))])
    for i in range(4):
        step(5, 1, 200 + i)
    assert ours.get_seq_length() == ref.get_seq_length()


def test_growing_layer_writes_in_place_between_edits():
    layer = GrowingLayer()
    layer.update(*_states(2, 3, 0))
    buffer = layer._key_buffer
    for i in range(SPARE):
        layer.update(*_states(2, 1, i + 1))
    assert layer._key_buffer is buffer, "decode steps within the spare room must not reallocate"
    layer.update(*_states(2, 1, 999))
    assert layer._key_buffer is not buffer


def _reference_drop(scores, top_p):
    """The top-p cut as the engine computed it before (`torch.sort` of every row)."""
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    cum = sorted_scores.softmax(-1).cumsum(-1)
    drop_sorted = (cum - sorted_scores.softmax(-1)) >= top_p
    return torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)


@pytest.mark.parametrize("top_p", [0.1, 0.5, 0.9, 0.95, 0.9999])
@pytest.mark.parametrize("scale", [0.3, 3.0, 30.0])
def test_top_p_drop_matches_the_sorted_reference_without_sorting(top_p, scale, monkeypatch):
    scores = torch.randn(64, 973, generator=torch.Generator().manual_seed(int(scale * 10))) * scale
    scores[:, ::97] = float("-inf")  # top-k leaves -inf behind
    expected = _reference_drop(scores, top_p)
    monkeypatch.setattr(sampling.torch, "sort", lambda *a, **k: pytest.fail("the fast path should not need torch.sort"))
    assert torch.equal(sampling.top_p_drop(scores, top_p), expected)


def test_top_p_drop_falls_back_to_sorting_on_a_tie_at_the_cut(monkeypatch):
    scores = torch.tensor([[2.0, 1.0, 1.0, 0.0], [3.0, 1.0, 0.5, 0.5]])
    expected = {p: _reference_drop(scores, p) for p in (0.5, 0.7)}
    sorts = []
    real_sort = torch.sort
    monkeypatch.setattr(sampling.torch, "sort", lambda *a, **k: (sorts.append(1), real_sort(*a, **k))[1])
    # row 0 at 0.7: 2.0 holds 0.53 of the mass and 2.0 plus one 1.0 holds 0.73, so the cut
    # falls between the two tied 1.0s, where a threshold cannot tell them apart
    assert torch.equal(sampling.top_p_drop(scores, 0.7), expected[0.7])
    assert sorts, "a tie at the cut must go through torch.sort"
    sorts.clear()
    assert torch.equal(sampling.top_p_drop(scores, 0.5), expected[0.5])
    assert not sorts, "ties away from the cut do not need the fallback"
    assert not sampling.top_p_drop(torch.zeros(1, 5), 1.0 - 1e-9).any()
