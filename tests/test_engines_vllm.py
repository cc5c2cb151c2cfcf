"""The vLLM engine against a stand-in `vllm` package (vLLM needs a GPU; the call shapes are what we test).

The stand-in (`tests/fixtures/vllm_standin`) answers each request with "<seed>:<prompt tokens>",
so a sample's text names the sample, and logs what every LLM it made was given, in this
process or in an engine replica's (`engine.data_parallel_size`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.config import EngineConfig, SamplingConfig
from harness.engines import GenerationRequest, load_engine
from harness.engines.replicas import split
from harness.engines.sampling import sample_seed
from harness.errors import HarnessError

SAMPLED = SamplingConfig(temperature=0.6, top_p=0.9, max_new_tokens=64, seed=4)


def standin_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def vllm_engine(tiny_model_dir, vllm_standin):
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


# --------------------------------------------------------------------------- data parallel

REQUESTS = [GenerationRequest("abc", "p/1", [0, 1, 2, 3, 4]), GenerationRequest("de", "p/2", [7]),
            GenerationRequest("fgh ij", "p/3", [3, 1]), GenerationRequest("k", "p/4", []),
            GenerationRequest("lmn", "p/5", [0, 1, 2])]


def texts(out) -> list[list[str]]:
    return [[c.text for c in row] for row in out]


@pytest.mark.parametrize("parts", [1, 2, 3, 8])
@pytest.mark.parametrize("greedy", [False, True])
def test_split_sends_each_sample_once_in_near_equal_shares(parts, greedy):
    shares = split(REQUESTS, greedy, parts)
    assert len(shares) == parts
    sent = [(r, pos) for _, slots in shares for r, positions in slots for pos in positions]
    expected = [(r, pos) for r, req in enumerate(REQUESTS) for pos in range(len(req.sample_indices))]
    assert sent == expected  # every sample once, in request order: the shares are contiguous
    for requests, slots in shares:
        for req, (r, positions) in zip(requests, slots):
            assert (req.prompt, req.seed_key) == (REQUESTS[r].prompt, REQUESTS[r].seed_key)
            assert req.sample_indices == [REQUESTS[r].sample_indices[p] for p in positions]
    units = [len(slots) if greedy else sum(len(p) for _, p in slots) for _, slots in shares]
    assert max(units) - min(units) <= 1
    if greedy:  # a greedy request is drawn once: it is never cut in two
        assert len({r for _, slots in shares for r, _ in slots}) == sum(len(s) for _, s in shares)


def test_data_parallel_replicas_give_the_samples_of_one_engine(tiny_model_dir, vllm_standin, monkeypatch):
    """dp=2 x tp=2 on four (pretended) GPUs: each replica in its own process on its own two GPUs,
    the samples split between them, and every sample what one engine draws for it."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    one = load_engine(str(tiny_model_dir), EngineConfig(name="vllm", tensor_parallel_size=2))
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=2)
    expected = {"sampled": texts(one.generate(REQUESTS, SAMPLED)), "greedy": texts(one.generate(REQUESTS, greedy))}
    engine = load_engine(str(tiny_model_dir), EngineConfig(name="vllm", tensor_parallel_size=2, data_parallel_size=2))
    try:
        assert texts(engine.generate(REQUESTS, SAMPLED)) == expected["sampled"]
        assert texts(engine.generate(REQUESTS, greedy)) == expected["greedy"]
        assert engine.name == "vllm" and engine.max_context == one.max_context
        assert engine.chunk_size == 2 * one.chunk_size
    finally:
        engine.close()
    assert not any(proc.is_alive() for proc in engine._procs)

    log = [line for line in standin_log(vllm_standin) if line["pid"] != os.getpid()]
    inits = {line["pid"]: line for line in log if line["event"] == "init"}
    assert sorted(line["gpus"] for line in inits.values()) == ["4,5", "6,7"]  # disjoint GPU groups
    for line in inits.values():  # vLLM's own data_parallel_size is never asked for: it refuses offline use
        assert line["kwargs"]["tensor_parallel_size"] == 2 and "data_parallel_size" not in line["kwargs"]
    calls = [line for line in log if line["event"] == "generate"]
    assert {line["pid"] for line in calls} == set(inits)  # both replicas drew samples
    sampled = [seed for line in calls for seed in line["seeds"] if seed is not None]
    assert sorted(sampled) == sorted(sample_seed(SAMPLED.seed, r.seed_key, j) for r in REQUESTS for j in r.sample_indices)


def test_eval_with_replicas_stores_the_samples_and_key_of_one_engine(tiny_model_dir, vllm_standin, tmp_path, monkeypatch):
    """`harness eval --engine vllm --data-parallel-size 2`: the eval stage's key and stored samples are
    those of one engine, so a board's committed keys hold whatever data parallelism produced them."""
    from harness.cli import main

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": f"p{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(5)]
    (data / "aime24.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    stored = {}
    for dp in (1, 2):
        store = tmp_path / f"store-dp{dp}"
        argv = ["eval", "--model", str(tiny_model_dir), "--engine", "vllm", "--data-parallel-size", str(dp),
                "--benchmarks", "aime24", "--data-dir", str(data), "--n", "3", "--temperature", "0.6",
                "--max-new-tokens", "8", "--store", str(store)]
        assert main(argv) == 0
        (stage,) = (store / "eval").iterdir()
        lines = [json.loads(line) for line in (stage / "generations.jsonl").read_text().splitlines()]
        stored[dp] = stage.name, sorted((line["id"], line["sample"], line["text"]) for line in lines)
    assert stored[2] == stored[1] and len(stored[1][1]) == 15
    replicas = {line["pid"] for line in standin_log(vllm_standin) if line["event"] == "generate"} - {os.getpid()}
    assert len(replicas) == 2


def test_a_replica_that_cannot_start_is_one_line_and_stops_the_others(tiny_model_dir, vllm_standin, monkeypatch):
    import multiprocessing

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("VLLM_STANDIN_FAIL_ON_GPUS", "1")
    with pytest.raises(HarnessError, match=r"^cannot load model .* in vLLM: no weights on GPUs 1$"):
        load_engine(str(tiny_model_dir), EngineConfig(name="vllm", data_parallel_size=2))
    assert sorted(line["gpus"] for line in standin_log(vllm_standin) if line["event"] == "init") == ["0", "1"]
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("harness-replica")]


def test_data_parallel_needs_its_gpus_and_vllm(tiny_model_dir, vllm_standin, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    with pytest.raises(HarnessError, match=r"engine.data_parallel_size=2 x engine.tensor_parallel_size=2 needs 4 GPUs "
                                           r"but 3 are visible; set --set engine.data_parallel_size=1"):
        load_engine(str(tiny_model_dir), EngineConfig(name="vllm", tensor_parallel_size=2, data_parallel_size=2))
    with pytest.raises(HarnessError, match=r"runs one vllm engine per GPU group, but engine 'transformers' was chosen"):
        load_engine(str(tiny_model_dir), EngineConfig(name="transformers", data_parallel_size=2))
    monkeypatch.setattr("harness.engines.factory._gpu_available", lambda: False)
    with pytest.raises(HarnessError, match=r"engine 'transformers' was chosen \(engine.name=auto picks vllm only where"):
        load_engine(str(tiny_model_dir), EngineConfig(name="auto", data_parallel_size=2))


def test_preflight_counts_data_parallel_gpus(vllm_standin, monkeypatch):
    import torch

    from harness import preflight
    from harness.config import resolve_run_config

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)

    def engine_check(**engine):
        cfg = resolve_run_config(None, None, [{"engine": {"name": "vllm", **engine}}])
        return preflight.machine_checks(cfg, trains=False)[0]

    fits = engine_check(tensor_parallel_size=2, data_parallel_size=2)
    assert fits.ok and fits.detail == "vllm on 4 GPUs, 2 replicas of 2 GPUs"
    over = engine_check(tensor_parallel_size=2, data_parallel_size=4)
    assert not over.ok and "needs 8 GPUs but 4 are visible; set --set engine.data_parallel_size=2" in over.detail
    assert "set --set engine.tensor_parallel_size=4" in engine_check(tensor_parallel_size=8).detail


def test_a_process_that_never_closes_its_replicas_still_exits(tiny_model_dir, vllm_standin, tmp_path):
    """Replicas cannot be daemons (vLLM starts processes of its own), and multiprocessing waits for
    non-daemon children at exit: the engine must stop them first, closed or not. The timeout only
    turns a hang into a failure."""
    import subprocess
    import sys

    script = tmp_path / "leave_open.py"
    script.write_text(
        "from harness.config import EngineConfig, SamplingConfig\n"
        "from harness.engines import GenerationRequest, load_engine\n"
        "if __name__ == '__main__':\n"
        f"    engine = load_engine({str(tiny_model_dir)!r}, EngineConfig(name='vllm', data_parallel_size=2))\n"
        "    print(engine.generate([GenerationRequest('ab', 'x', [0, 1, 2])], SamplingConfig(temperature=0.5))[0][2].text)\n")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent / "fixtures" / "vllm_standin"),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == f"{sample_seed(0, 'x', 2)}:2"
    assert len({line["pid"] for line in standin_log(vllm_standin) if line["event"] == "init"}) == 2
