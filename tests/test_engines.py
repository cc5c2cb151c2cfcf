"""Engines: per-sample seeded sampling independent of batching, greedy, stops, factory errors."""

import pytest
import torch

from harness.config import EngineConfig, SamplingConfig
from harness.engines import GenerationRequest, load_engine
from harness.engines.factory import choose_engine
from harness.engines.sampling import sample_seed, warp
from harness.errors import HarnessError
from harness.eval.prompts import render_prompt

SAMPLING = SamplingConfig(temperature=1.0, top_p=0.95, top_k=50, repetition_penalty=1.05, max_new_tokens=8, seed=3)


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return load_engine(str(tiny_model_dir), EngineConfig(name="transformers", batch_size=8))


def _requests(engine, problems, samples=(0, 1, 2)):
    return [GenerationRequest(render_prompt(engine.tokenizer, p, "Solve."), f"b/{i}", list(samples)) for i, p in enumerate(problems)]


PROBLEMS = ["1+1?", "What is 12 + 7 and why is it so? Explain carefully please.", "x = 14/3, 3x = ?"]


def test_samples_do_not_depend_on_batching(engine):
    together = engine.generate(_requests(engine, PROBLEMS), SAMPLING)
    engine.cfg.batch_size = 1
    try:
        # one prompt per call, samples asked in another order: the seed key, not the position in the batch, names the stream
        alone = [engine.generate([GenerationRequest(render_prompt(engine.tokenizer, p, "Solve."), f"b/{i}", [2, 0, 1])], SAMPLING)[0] for i, p in enumerate(PROBLEMS)]
    finally:
        engine.cfg.batch_size = 8
    assert [[c.text for c in cs] for cs in together] == [[cs[1].text, cs[2].text, cs[0].text] for cs in alone]
    texts = [c.text for c in together[0]]
    assert len(set(texts)) > 1, "three samples of one prompt should differ at temperature 1"


def test_seed_changes_samples_and_greedy_is_deterministic(engine):
    reqs = _requests(engine, PROBLEMS[:2])
    a = engine.generate(reqs, SAMPLING)
    b = engine.generate(reqs, SamplingConfig(**{**SAMPLING.__dict__, "seed": 4}))
    assert [c.text for cs in a for c in cs] != [c.text for cs in b for c in cs]
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=12)
    g = engine.generate(reqs, greedy)
    assert all(len({c.text for c in cs}) == 1 for cs in g)
    assert g == engine.generate(reqs, greedy)


def test_greedy_matches_plain_transformers_generate(engine):
    prompt = render_prompt(engine.tokenizer, PROBLEMS[1], "Solve.")
    ours = engine.generate([GenerationRequest(prompt, "k", [0])], SamplingConfig(temperature=0.0, max_new_tokens=10))[0][0]
    ids = engine.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    ref = engine.model.generate(**ids, max_new_tokens=10, do_sample=False)[0, ids.input_ids.shape[1]:]
    stop = [i for i, t in enumerate(ref.tolist()) if t in engine.stop_ids]
    cut = ref[: stop[0]] if stop else ref
    assert ours.text == engine.tokenizer.decode(cut, skip_special_tokens=True)
    assert ours.finish_reason == ("stop" if stop else "length")
    assert ours.num_tokens == (stop[0] + 1 if stop else 10)


def test_continuous_batching_does_not_change_any_row(engine, monkeypatch):
    """Rows that stop early leave, queued prompts join the running batch: sample j of a prompt is
    still exactly what it is when generated alone."""
    from harness.engines import decoding

    problems = PROBLEMS + ["Count to five.", "2 * 3 + 4 = ?", "Name a prime number bigger than ten."]
    sampling = SamplingConfig(**{**SAMPLING.__dict__, "max_new_tokens": 16})
    requests = [GenerationRequest(render_prompt(engine.tokenizer, p, "Solve."), f"s/{i}", [0, 1]) for i, p in enumerate(problems)]
    first = engine.generate(requests, sampling)
    # Make tokens some rows emit early stop tokens, so rows finish at different steps.
    tok = engine.tokenizer
    seen = [tok(c.text, add_special_tokens=False).input_ids for cs in first for c in cs]
    plain = [t for row in seen for t in row[1:10] if tok.decode([t]).isascii() and tok.decode([t]).strip()]
    extra = [t for t in dict.fromkeys(plain) if sum(t in r for r in seen) < len(seen)][:3]
    monkeypatch.setattr(engine, "stop_ids", engine.stop_ids + extra)
    joins = []
    extend = decoding.Rows.extend
    monkeypatch.setattr(decoding.Rows, "extend", lambda self, other, pad: (joins.append(len(other.keys)), extend(self, other, pad))[1])
    monkeypatch.setattr(engine.cfg, "batch_size", 3)  # 12 rows through 3 slots
    together = engine.generate(requests, sampling)
    assert joins, "queued rows should have joined a running batch"
    assert len({c.num_tokens for cs in together for c in cs}) > 1, "rows should finish at different steps"
    alone = [[engine.generate([GenerationRequest(r.prompt, r.seed_key, [j])], sampling)[0][0] for j in r.sample_indices]
             for r in requests]
    assert [[(c.text, c.num_tokens) for c in cs] for cs in together] == [[(c.text, c.num_tokens) for c in cs] for cs in alone]


def test_warp_top_k_top_p_and_penalty():
    scores = torch.tensor([[4.0, 3.0, 2.0, -1.0]])
    context = torch.tensor([[0, 3]])
    valid = torch.tensor([[True, True]])
    topk = warp(scores, context, valid, SamplingConfig(temperature=1.0, top_k=2))
    assert torch.isinf(topk[0, 2:]).all() and not torch.isinf(topk[0, :2]).any()
    topp = warp(scores, context, valid, SamplingConfig(temperature=1.0, top_p=0.5))
    assert torch.isinf(topp[0, 1:]).all()
    pen = warp(scores, context, torch.tensor([[True, False]]), SamplingConfig(temperature=0.0, repetition_penalty=2.0))
    assert pen.tolist() == [[2.0, 3.0, 2.0, -1.0]]  # token 3 sits in a pad position: untouched


def test_sample_seed_is_stable_and_distinct():
    assert sample_seed(0, "a/1", 0) == sample_seed(0, "a/1", 0)
    assert len({sample_seed(0, "a/1", 0), sample_seed(0, "a/1", 1), sample_seed(1, "a/1", 0), sample_seed(0, "a/2", 0)}) == 4


def test_factory_errors(tmp_path):
    with pytest.raises(HarnessError, match="does not exist"):
        load_engine(str(tmp_path / "missing"), EngineConfig())
    with pytest.raises(HarnessError, match="config.json"):
        load_engine(str(tmp_path), EngineConfig())
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(HarnessError, match="no weights"):  # before a stage logs anything (bench/bad_input.py)
        load_engine(str(tmp_path), EngineConfig())
    with pytest.raises(HarnessError, match="unknown engine"):
        choose_engine(EngineConfig(name="tgi"))
    assert choose_engine(EngineConfig(name="transformers")) == "transformers"


def test_a_request_past_the_context_is_refused_before_generating(engine):
    assert engine.max_context == 512  # the tiny model's max_position_embeddings
    prompt = render_prompt(engine.tokenizer, "1+1?", "Solve.")
    length = len(engine.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    fits = SamplingConfig(temperature=0.0, max_new_tokens=512 - length)
    assert len(engine.generate([GenerationRequest(prompt, "fits", [0])], fits)[0]) == 1
    with pytest.raises(HarnessError, match=f"needs {length} prompt tokens \\+ max_new_tokens {513 - length} = 513, past the 512-token context"):
        engine.generate([GenerationRequest(prompt, "over", [0])], SamplingConfig(temperature=0.0, max_new_tokens=513 - length))


def test_max_new_tokens_context_lets_each_request_run_to_the_end_of_the_context(tiny_model_dir, monkeypatch):
    """Under `max_new_tokens: context` a row stops at the context's end, each after its own prompt, in one batch."""
    capped = load_engine(str(tiny_model_dir), EngineConfig(name="transformers", max_model_len=96))
    monkeypatch.setattr(capped, "stop_ids", [])  # no end of turn: every row runs to its limit
    requests = _requests(capped, ["1+1?", "What is 12 + 7 and why is it so? Explain carefully please."], [0, 1])
    lengths = [len(capped.tokenizer(r.prompt, add_special_tokens=False)["input_ids"]) for r in requests]
    assert lengths[0] != lengths[1]
    out = capped.generate(requests, SamplingConfig(temperature=1.0, max_new_tokens="context", seed=1))
    assert [[(c.num_tokens, c.finish_reason) for c in cs] for cs in out] == [[(96 - n, "length")] * 2 for n in lengths]
    with pytest.raises(HarnessError, match="the prompt alone fills the context"):
        capped.generate(_requests(capped, ["word " * 200], [0]), SamplingConfig(max_new_tokens="context"))


def test_engine_max_model_len_caps_the_context(tiny_model_dir):
    capped = load_engine(str(tiny_model_dir), EngineConfig(name="transformers", max_model_len=64))
    assert capped.max_context == 64
    with pytest.raises(HarnessError, match="lower max_new_tokens to at most"):
        capped.generate(_requests(capped, ["1+1?"], [0]), SamplingConfig(max_new_tokens=64))


def test_cpu_helper_processes_leave_every_sample_as_it_was(engine, tiny_model_dir):
    """engine.cpu_processes=2 deals the rows out to a forked helper: same texts, and the
    helper ends with the engine."""
    requests = _requests(engine, PROBLEMS + ["Count to five.", "2 * 3 + 4 = ?"])
    two = load_engine(str(tiny_model_dir), EngineConfig(name="transformers", device="cpu", batch_size=8, cpu_processes=2))
    try:
        assert two.generate(requests, SAMPLING) == engine.generate(requests, SAMPLING)
        assert len(two._helpers) == 1, "the rows should have been shared with a helper process"
        procs = list(two._helpers._procs)
    finally:
        two.close()
    assert not any(p.is_alive() for p in procs)


def test_a_dead_cpu_helper_is_a_one_line_error(engine, tiny_model_dir):
    requests = _requests(engine, PROBLEMS)
    two = load_engine(str(tiny_model_dir), EngineConfig(name="transformers", device="cpu", batch_size=8, cpu_processes=2))
    try:
        two.generate(requests, SAMPLING)
        proc = two._helpers._procs[0]
        proc.kill()
        proc.join()
        with pytest.raises(HarnessError, match="helper process died"):
            two.generate(requests, SAMPLING)
        # the broken helpers are dropped; the next call starts new ones and gives the usual samples
        assert two.generate(requests, SAMPLING) == engine.generate(requests, SAMPLING)
    finally:
        two.close()


# The parent of a CPU helper, killed while the helper decodes: the helper's decode is faked
# to wait on a pipe the test holds, so the kill lands mid-decode by construction.
_KILLED_PARENT = """
import os, sys
import harness.engines.decoding as decoding
from harness.engines.cpu_helpers import DecodeHelpers

def decode(model, tokenizer, work, *args):
    os.write(1, b"decoding\\n")
    os.read(int(sys.argv[1]), 1)  # until the test says the parent is gone
    return [(row, [1]) for row in work]

decoding.decode = decode  # the helper is forked after this, so it decodes with it
helpers = DecodeHelpers(None, None, "cpu", 1)
helpers.submit([["row"]], None, [], 1)
helpers.results()
"""


def test_sigterm_to_a_run_with_cpu_helpers_prints_no_tracebacks():
    """Issue #33: SIGTERM during a decode with helpers printed ~30 lines of BrokenPipeError."""
    import os
    import signal
    import subprocess
    import sys

    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, str(read)], pass_fds=(read,),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(read)
    assert proc.stdout.readline() == "decoding\n", proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM
    os.write(write, b"x")  # a helper still alive now answers its dead parent
    os.close(write)
    _, err = proc.communicate(timeout=60)  # both streams end when the helper has ended too
    assert len(err.splitlines()) <= 1 and "Traceback" not in err, err
