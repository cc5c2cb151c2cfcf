"""What the paper presets' settings do to the training data (issue #31), on the s1K fixture and a tiny model.

The presets' method parameters are parsed as `harness run --preset paper-...` parses them and
run on the teacher stage built from tests/fixtures/s1k, with a fake student the test controls;
continuations that may use the rest of the context run on a real tiny model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes import FakeGraderPool, FakeStudent, make_ctx
from harness import keys
from harness.config import EngineConfig, SamplingConfig, resolve_run_config
from harness.method_runs import method_params
from harness.methods import MethodContext, Trace, get_method
from harness.store import RunStore
from harness.teacher import load_traces, make_traces

S1K = Path(__file__).parent / "fixtures" / "s1k" / "s1k-1.1-sample.jsonl"
PRESET = "paper-qwen2.5-7b"
UNANSWERED = {"s1k-0003", "s1k-0013"}
BUILT_IN = ("none", "full_cot", "short_cot", "mix_cot", "fixed_trunc", "palign")  # the fixture's rows with no checkable answer (a proof, prose)


@pytest.fixture
def fake_pool(monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """The preset's config and the teacher traces it builds from the s1K fixture."""
    cfg = resolve_run_config(preset=PRESET, overrides=[{"teacher": {"dataset": str(S1K)}}])
    return cfg, load_traces(make_traces(cfg, RunStore(tmp_path_factory.mktemp("store"))))


def student_folder(tmp_path: Path) -> str:
    """A student folder whose generation_config.json samples, as the Qwen instruct models' do."""
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "generation_config.json").write_text(json.dumps(
        {"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05}))
    return str(folder)


def solver(traces: list[Trace]):
    """Replies: both labels to every judge prompt (enough to the authors, unparseable to the strict reading),
    the gold answer boxed to every continuation prompt."""
    answers = {t.problem: t.answer for t in traces}

    def reply(prompt: str, j: int) -> str:
        if "Partial reasoning" in prompt:
            return "[ENOUGH] or [NOT_ENOUGH]"
        gold = next(answer for problem, answer in answers.items() if problem in prompt)
        return f" So the answer is \\boxed{{{gold}}}."

    return reply


def run(name: str, cfg, traces, tmp_path: Path, student: FakeStudent, **pinned):
    params = method_params(get_method(name), cfg.method.params, pinned)
    ctx = make_ctx(tmp_path / name, student, sampling=keys.method_sampling(cfg), instruction=cfg.eval.instruction,
                   max_length=cfg.train.max_length, student=student_folder(tmp_path) if name == "palign" else "fake")
    return get_method(name).fn(traces, params, ctx)


def test_the_paper_sft_data_has_draft_markers_and_s1_s_full_cot(paper, tmp_path, fake_pool):
    cfg, traces = paper
    student = FakeStudent(solver(traces), max_context=4096)
    palign = run("palign", cfg, traces, tmp_path, student)
    assert palign.examples and all(e.completion.startswith("<Begin_of_Draft>") and "<End_of_Draft>" in e.completion
                                   for e in palign.examples)
    by_id = {t.id: t for t in traces}
    for example in run("full_cot", cfg, traces, tmp_path, student).examples:
        trace = by_id[example.id]
        thinking, _, attempt = example.completion.partition("\n<|im_start|>answer\n")
        assert thinking == "<|im_start|>think\n" + trace.long_cot.strip()
        assert attempt in (trace.short_cot.strip(), "Answer: " + trace.short_cot.strip())
    # The self judge sampled as the student's generation_config.json says, and read replies as the authors do.
    judged = [sampling for prompt, sampling in student.samplings if "Partial reasoning" in prompt]
    assert judged and all((s.temperature, s.top_p, s.top_k, s.repetition_penalty, s.max_new_tokens)
                          == (0.7, 0.8, 20, 1.05, 256) for s in judged)
    assert palign.stats["judge_parse"] == "authors" and palign.stats["unparseable_judge_replies"] > 0
    assert palign.stats["full_cot_fallbacks"] == 0 and palign.stats["kept_prefix_ratio_mean"] < 1


def test_each_method_keeps_the_s1k_rows_it_can_use_and_the_run_table_says_so(paper, tmp_path, fake_pool, capsys):
    from harness.run_report import print_results

    cfg, traces = paper
    assert len(traces) == 14 and {t.id for t in traces if not t.answer} == UNANSWERED  # 16 rows, 2 without a CoT
    student = FakeStudent(solver(traces), max_context=4096)
    results = {name: run(name, cfg, traces, tmp_path, student) for name in BUILT_IN}
    results["fixed_trunc:prefix_only"] = run("fixed_trunc", cfg, traces, tmp_path, student, variant="prefix_only")
    counts = {name: (r.stats["traces"], len(r.examples), r.stats["dropped"]) for name, r in results.items()}
    graded = (14, 12, {"no_gold_answer": 2})  # only the methods that grade continuations need a gold answer
    assert counts == {"full_cot": (14, 14, {}), "short_cot": (14, 14, {}), "mix_cot": (14, 14, {}),
                      "fixed_trunc:prefix_only": (14, 14, {}), "none": (14, 0, {}),
                      "fixed_trunc": graded, "palign": graded}
    assert not any(e.id in UNANSWERED for name in ("palign", "fixed_trunc") for e in results[name].examples)
    assert all("\\boxed{}" not in e.completion for e in results["short_cot"].examples)  # no empty box appended
    records = [{"method": name, "method_params": {}, "benchmarks": {}, "method_stats": r.stats, "training": None}
               for name, r in results.items()]
    print_results(records)
    rows = {line.split("│")[1].strip(): line for line in capsys.readouterr().out.splitlines()
            if line.count("│") > 3 and line.split("│")[1].strip() in results}
    assert "14 │ 12 │ no_gold_answer 2" in " ".join(rows["palign"].split())
    assert "14 │ 14 │ -" in " ".join(rows["full_cot"].split())


# --------------------------------------------------------------------------- the rest of the context

def test_a_prefix_longer_than_half_the_context_is_searched_and_continued(tmp_path, tiny_model_dir, fake_pool,
                                                                          monkeypatch):
    """Under max_new_tokens: context a 512-token student searches and continues a prefix of more than 256 tokens."""
    from harness.engines.hf import HFEngine
    from palign.judges import RolloutJudge

    engine = HFEngine(str(tiny_model_dir), EngineConfig(device="cpu", dtype="float32"))
    tokens = lambda text: len(engine.tokenizer(text, add_special_tokens=False).input_ids)  # noqa: E731
    sentence = "Tom has 12 apples and buys 7 more. "
    trace = Trace("long", "Tom has apples. How many?", "19", sentence * (300 // tokens(sentence) + 3), "19")
    assert engine.max_context == 512 and 300 < tokens(trace.long_cot) < 400
    # The judge calls a prefix sufficient once it holds more than 300 tokens: only the rest of the context allows
    # it. (A rollout judge, whose requests are the continuation's; the self judge keeps 256 tokens for its reply.)
    monkeypatch.setattr(RolloutJudge, "judge", lambda self, queries: [tokens(q.prefix) > 300 for q in queries])

    def palign(max_new_tokens):
        ctx = make_ctx(tmp_path / str(max_new_tokens), engine, max_length=512,
                       sampling=SamplingConfig(temperature=0.6, max_new_tokens=max_new_tokens))
        return get_method("palign").fn([trace], get_method("palign").parse_params({"rollouts": 1}), ctx)

    half = palign(256)
    assert half.stats["dropped"] == {"fallback_over_context": 1}  # prompt + prefix + 256 tokens do not fit
    rest = palign("context")
    t, pieces = rest.stats["chosen_cuts"]["long"]
    chosen = "".join(sentence for _ in range(t))
    assert tokens(chosen) > 256 and rest.stats["searched_pieces_mean"] == pieces  # every sentence searched
    assert "prefix_over_context" not in rest.stats["dropped"] and "fallback_over_context" not in rest.stats["dropped"]
    (generation,) = [json.loads(line) for line in (tmp_path / "context" / "generations.jsonl").read_text().splitlines()]
    assert 0 < generation["num_tokens"] < 512 - tokens(chosen)  # the continuation ran, in what the prompt left
    engine.close()
