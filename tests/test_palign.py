"""P-ALIGN with a fake student whose outputs the test controls."""

from pathlib import Path

import pytest

from harness.config import SamplingConfig
from harness.engines.base import Completion
from harness.eval.grading import Grade
from harness.methods import MethodContext, Trace, get_method
from harness.toolkit.prefix import AlignSettings, align
from palign.judges import parse_label
from harness.toolkit.splitter import split_sentences


class FakeTokenizer:
    chat_template = "fake"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True, **kwargs):
        return f"<user>{messages[0]['content']}</user><assistant>"

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [t.split() for t in texts]}  # one token per word


class FakeStudent:
    """Solves a problem only when the KEY sentence is in its prompt; replies come from `reply`."""

    def __init__(self, reply=None):
        self.tokenizer = FakeTokenizer()
        self.calls = []
        self.reply = reply or self.solve

    @staticmethod
    def solve(prompt, j):
        answer = prompt.split("answer=")[1].split(".")[0]
        return f" So the result is \\boxed{{{answer}}}." if "KEY" in prompt else " I guess \\boxed{0}."

    def generate(self, requests, sampling):
        self.calls.append(len(requests))
        return [[Completion(self.reply(r.prompt, j), 5, "stop") for j in r.sample_indices] for r in requests]


def fake_grader(golds, outputs):
    return [out.rstrip(". ").endswith(f"\\boxed{{{g}}}") for g, out in zip(golds, outputs)]


class FakeGraderPool:
    """Stands in for the method context's grader pool, grading with `fake_grader`."""

    def grade(self, golds, outputs):
        return [Grade("correct" if ok else "incorrect", None) for ok in fake_grader(golds, outputs)]


def make_trace(i: int, m: int, need: int) -> Trace:
    sentences = [f"Step {s} of problem {i}. " if s != need else "The KEY step is here. " for s in range(1, m + 1)]
    return Trace(id=f"t{i}", problem=f"Problem {i}: find it, answer={40 + i}.", answer=str(40 + i),
                 long_cot="".join(sentences), short_cot=f"\\boxed{{{40 + i}}}")


def make_ctx(tmp_path: Path, engine) -> MethodContext:
    return MethodContext(student="fake", engine_factory=lambda: engine, sampling=SamplingConfig(temperature=0.6),
                         seed=0, work_dir=tmp_path)


@pytest.mark.parametrize("reply,label", [
    ("[ENOUGH]", True), ("[NOT_ENOUGH]", False), ("not_enough", False), ("Answer: NOT ENOUGH", False),
    ("  [ enough ] ", True), ("The prefix is ENOUGH.", True), ("[NOT-ENOUGH] because", False),
    ("I think [ENOUGH] or [NOT_ENOUGH]", None), ("maybe", None), ("", None), ("enoughness", None),
])
def test_parse_label(reply, label):
    assert parse_label(reply) is label


def test_alignment_target_is_verbatim_prefix_then_student_continuation():
    trace = make_trace(1, 6, need=3)
    prefix = "".join(split_sentences(trace.long_cot)[:3])
    out = align([(trace, prefix)], AlignSettings(samples=2), FakeStudent(), fake_grader, instruction="Solve.",
                enable_thinking=None, sampling=SamplingConfig(), seed=0)[0]
    assert out.continuation == " So the result is \\boxed{41}."
    assert prefix.endswith(" ")  # the teacher's own whitespace goes; the prompt must not end in a bare space
    assert out.example.completion == f"<Begin_of_Prefix>{prefix.rstrip()}<End_of_Prefix>{out.continuation}"
    assert out.example.prompt == "Solve.\n" + trace.problem
    no_markers = align([(trace, prefix)], AlignSettings(markers=False), FakeStudent(), fake_grader,
                       instruction="Solve.", enable_thinking=None, sampling=SamplingConfig(), seed=0)[0]
    assert no_markers.example.completion == prefix.rstrip() + out.continuation


def test_incorrect_continuations_are_never_kept():
    trace = make_trace(2, 6, need=3)
    prefix = "".join(split_sentences(trace.long_cot)[:2])  # without the KEY step: the student fails

    def reply(prompt, j):  # sample 1 is right, the others wrong
        return " \\boxed{42}." if j == 1 else " \\boxed{7}."

    kept = align([(trace, prefix)], AlignSettings(samples=3), FakeStudent(reply), fake_grader, instruction="",
                 enable_thinking=None, sampling=SamplingConfig(), seed=0)[0]
    assert kept.continuation == " \\boxed{42}."
    dropped = align([(trace, prefix)], AlignSettings(samples=3), FakeStudent(), fake_grader, instruction="",
                    enable_thinking=None, sampling=SamplingConfig(), seed=0)[0]
    assert dropped.example is None and dropped.continuation is None


def test_palign_finds_minimal_prefix_and_batches_generation(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))
    traces = [make_trace(i, m, need) for i, (m, need) in enumerate([(8, 3), (5, 5), (12, 1), (7, 2)])]
    student = FakeStudent()
    spec = get_method("palign")
    result = spec.fn(traces, spec.parse_params({"rollouts": 2, "threshold": 1.0}), make_ctx(tmp_path, student))
    stats = result.stats
    assert stats["kept_prefix_ratios"] == [round(r, 4) for r in (3 / 8, 5 / 5, 1 / 12, 2 / 7)]
    assert stats["kept"] == 4 and stats["dropped"] == {"no_sufficient_prefix": 0, "no_correct_continuation": 0}
    # One generate call per search round, plus one for alignment.
    assert len(student.calls) == stats["judge_rounds"] + 1 == stats["judge_generate_calls"] + 1
    assert stats["judge_queries_per_trace_max"] <= 4  # ceil(log2(12 + 1))
    for trace, example in zip(traces, result.examples):
        pieces = split_sentences(trace.long_cot)
        t = pieces.index("The KEY step is here. ") + 1
        assert example.completion.startswith("<Begin_of_Prefix>" + "".join(pieces[:t]).rstrip() + "<End_of_Prefix>")
        assert example.completion.endswith(f"\\boxed{{{trace.answer}}}.")


def test_palign_grades_every_round_in_one_pool_that_close_stops(tmp_path, monkeypatch):
    started, closed = [], []

    class CountingPool(FakeGraderPool):
        def __init__(self, workers, timeout):
            started.append((workers, timeout))

        def close(self):
            closed.append(True)

    monkeypatch.setattr("harness.eval.grading.Grader", CountingPool)
    traces = [make_trace(i, m, need) for i, (m, need) in enumerate([(8, 3), (12, 1)])]
    ctx = make_ctx(tmp_path, FakeStudent())
    spec = get_method("palign")
    stats = spec.fn(traces, spec.parse_params({"rollouts": 2, "threshold": 1.0}), ctx).stats
    assert stats["judge_rounds"] >= 3 and stats["kept"] == 2
    assert started == [(ctx.grader_workers, ctx.grader_timeout)] and not closed
    ctx.close()
    assert closed == [True]


def test_palign_resumes_from_its_generation_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))
    traces = [make_trace(i, 6, 4) for i in range(3)]
    spec = get_method("palign")
    params = spec.parse_params({})
    first = spec.fn(traces, params, make_ctx(tmp_path, FakeStudent()))
    again = FakeStudent()
    second = spec.fn(traces, params, make_ctx(tmp_path, again))
    assert again.calls == [] and [e.completion for e in second.examples] == [e.completion for e in first.examples]


def test_self_judge_counts_unparseable_replies(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))

    def reply(prompt, j):
        if "Partial reasoning" not in prompt:
            return FakeStudent.solve(prompt, j)
        return "[ENOUGH]" if "KEY" in prompt else "hmm, hard to say"

    traces = [make_trace(i, 6, 3) for i in range(2)]
    spec = get_method("palign")
    result = spec.fn(traces, spec.parse_params({"judge": "self"}), make_ctx(tmp_path, FakeStudent(reply)))
    assert result.stats["kept_prefix_ratios"] == [0.5, 0.5]
    assert result.stats["unparseable_judge_replies"] == 2 * 2  # t=3 (enough), t=1, t=2 per trace: two unclear


def test_drop_policy_reports_traces_without_sufficient_prefix(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))
    traces = [make_trace(0, 5, 2), Trace("x", "Problem: answer=9.", "9", "No key here. None at all.", "")]
    spec = get_method("palign")
    result = spec.fn(traces, spec.parse_params({"failure_policy": "drop"}), make_ctx(tmp_path, FakeStudent()))
    assert result.stats["dropped"]["no_sufficient_prefix"] == 1 and result.stats["kept"] == 1


def test_fixed_trunc_and_baselines(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))
    traces = [make_trace(0, 8, 3), make_trace(1, 8, 6)]
    ctx = make_ctx(tmp_path, FakeStudent())
    spec = get_method("fixed_trunc")
    result = spec.fn(traces, spec.parse_params({}), ctx)  # cut at 4 of 8: only trace 0 has its KEY step
    assert [e.id for e in result.examples] == ["t0"] and result.stats["kept_prefix_ratios"] == [0.5]
    assert result.stats["dropped"]["no_correct_continuation"] == 1
    prefix_only = spec.fn(traces, spec.parse_params({"variant": "prefix_only", "ratio": 0.25}), ctx)
    assert [e.completion for e in prefix_only.examples] == ["".join(split_sentences(t.long_cot)[:2]).rstrip() for t in traces]
    full = get_method("full_cot").fn(traces, None, ctx)
    assert full.examples[0].completion.startswith(traces[0].long_cot)
    assert full.examples[0].completion.endswith("\\boxed{40}.")
    assert get_method("short_cot").fn(traces, None, ctx).examples[1].completion == "\\boxed{41}"
    assert get_method("none").trains is False and get_method("none").fn(traces, None, ctx).examples == []


def test_rollout_judge_with_real_grader(tmp_path):
    traces = [make_trace(0, 4, 2)]
    spec = get_method("palign")
    result = spec.fn(traces, spec.parse_params({"rollouts": 1}), make_ctx(tmp_path, FakeStudent()))
    assert result.stats["kept_prefix_ratios"] == [0.5]


def test_search_is_capped_to_prefixes_that_fit_the_context(tmp_path, monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))
    traces = [make_trace(0, 16, 3), make_trace(1, 16, 12)]  # 5 words per sentence
    student = FakeStudent()
    spec = get_method("palign")
    result = spec.fn(traces, spec.parse_params({"max_prefix_tokens": 20}), make_ctx(tmp_path, student))
    assert result.stats["searched_sentences_mean"] == 4
    assert result.stats["judge_queries_per_trace_max"] <= 3  # ceil(log2(4 + 1))
    # Trace 1 needs 12 sentences: nothing within the cap is sufficient, so the full CoT is kept.
    assert result.stats["kept_prefix_ratios"] == [3 / 16, 1.0] and result.stats["full_cot_fallbacks"] == 1
