"""The vLLM engine against a stand-in `vllm` module (vLLM needs a GPU; the call shapes are what we test)."""

import sys
import types
from dataclasses import dataclass, field

import pytest

from harness.config import EngineConfig, SamplingConfig
from harness.engines.base import GenerationRequest
from harness.engines.sampling import sample_seed


@dataclass
class FakeSamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    repetition_penalty: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    stop_token_ids: list = field(default_factory=list)


class FakeLLM:
    def __init__(self, tokenizer_dir, **kwargs):
        self.kwargs, self.tokenizer_dir, self.calls = kwargs, tokenizer_dir, []

    def get_tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.tokenizer_dir)

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((prompts, params))
        outs = []
        for prompt, p in zip(prompts, params):
            choice = types.SimpleNamespace(text=f"{p.seed}:{len(prompt['prompt_token_ids'])}", token_ids=[5, 6], finish_reason="length" if p.max_tokens == 2 else "stop")
            outs.append(types.SimpleNamespace(outputs=[choice]))
        return outs


@pytest.fixture
def vllm_engine(tiny_model_dir, monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM = lambda **kw: FakeLLM(str(tiny_model_dir), **kw)
    vllm.SamplingParams = FakeSamplingParams
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)
    from harness.engines.vllm_engine import VLLMEngine

    return VLLMEngine(str(tiny_model_dir), EngineConfig(name="vllm", tensor_parallel_size=2, max_model_len=512))


def test_one_seeded_request_per_sample(vllm_engine):
    sampling = SamplingConfig(temperature=0.6, top_p=0.9, repetition_penalty=1.05, max_new_tokens=64, seed=4)
    out = vllm_engine.generate([GenerationRequest("abc", "b/1", [2, 0]), GenerationRequest("de", "b/2", [1])], sampling)
    prompts, params = vllm_engine.llm.calls[-1]
    assert [p.seed for p in params] == [sample_seed(4, "b/1", 2), sample_seed(4, "b/1", 0), sample_seed(4, "b/2", 1)]
    assert all(p.n == 1 and p.temperature == 0.6 and p.top_p == 0.9 and p.top_k == -1 and p.max_tokens == 64 for p in params)
    assert all(p.stop_token_ids == vllm_engine.stop_ids for p in params) and vllm_engine.stop_ids
    ids = vllm_engine.tokenizer("abc", add_special_tokens=False).input_ids
    assert prompts[0]["prompt_token_ids"] == ids
    assert [c.text for c in out[0]] == [f"{sample_seed(4, 'b/1', 2)}:{len(ids)}", f"{sample_seed(4, 'b/1', 0)}:{len(ids)}"]
    assert out[0][0].num_tokens == 2 and out[0][0].finish_reason == "stop" and len(out[1]) == 1
    assert vllm_engine.llm.kwargs["tensor_parallel_size"] == 2 and vllm_engine.llm.kwargs["max_model_len"] == 512


def test_greedy_and_length_finish(vllm_engine):
    out = vllm_engine.generate([GenerationRequest("abc", "k", [0, 1, 2])], SamplingConfig(temperature=0.0, top_k=5, max_new_tokens=2))
    assert len(vllm_engine.llm.calls[-1][1]) == 1 and len(out[0]) == 3  # one greedy request serves all samples
    params = vllm_engine.llm.calls[-1][1][0]
    assert (params.temperature, params.top_p, params.top_k, params.seed) == (0.0, 1.0, -1, None)
    assert out[0][0].finish_reason == "length"


def test_max_new_tokens_context_asks_vllm_for_the_rest_of_the_context(vllm_engine):
    requests = [GenerationRequest("abc", "c/1", [0, 1]), GenerationRequest("a much longer prompt here", "c/2", [0])]
    vllm_engine.generate(requests, SamplingConfig(temperature=0.6, max_new_tokens="context"))
    prompts, params = vllm_engine.llm.calls[-1]
    assert [p.max_tokens for p in params] == [512 - len(prompt["prompt_token_ids"]) for prompt in prompts]
    assert len({p.max_tokens for p in params}) == 2
