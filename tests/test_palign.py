"""P-ALIGN and the prefix path it shares with fixed_trunc, with a fake student the test controls."""

import pytest

from fakes import FakeGraderPool, FakeStudent, fake_grader, make_ctx, make_trace
from harness.config import SamplingConfig
from harness.errors import HarnessError
from harness.methods import MethodContext, Trace, get_method
from harness.toolkit.generation import CachedGenerator, method_tools
from harness.toolkit.prefix import Plan, PrefixSettings, align_plans
from harness.toolkit.splitter import split_sentences
from palign.judges import JudgeQuery, RolloutJudge, authors_label, parse_label


@pytest.fixture
def fake_pool(monkeypatch):
    monkeypatch.setattr(MethodContext, "grader", property(lambda self: FakeGraderPool()))


def run_method(name, traces, ctx, **params):
    spec = get_method(name)
    return spec.fn(traces, spec.parse_params(params), ctx)


def align_one(trace, t, student, settings=None, **kwargs):
    plan = Plan(trace, split_sentences(trace.long_cot), t)
    result = align_plans([plan], settings or PrefixSettings(), student, fake_grader, instruction="Solve.",
                         enable_thinking=None, sampling=SamplingConfig(), seed=0, max_length=kwargs.get("max_length"))
    return plan, result


# ------------------------------------------------------------------ the self-judge's labels

LABELS = [
    ("[ENOUGH]", True), ("[NOT_ENOUGH]", False), ("ENOUGH", True), ("NOT_ENOUGH", False), ("enough", True),
    ("  [ enough ] ", True), ("Label: [ENOUGH]", True), ("Label: NOT_ENOUGH", False), ("**ENOUGH**", True),
    ("ENOUGH.", True), ("not enough", False), ("[NOT ENOUGH]", False), ("[NOT-ENOUGH] because a step is missing", False),
    ("[ENOUGH]\nThe prefix already has the key step.", True), ("[ENOUGH] [ENOUGH]", True),
    # negations and words inside sentences are not labels
    ("The prefix isn't enough.", None), ("Not quite enough.", None), ("The prefix is ENOUGH.", None),
    ("It is not [ENOUGH]", None), ("Not [ENOUGH]", None), ("isn't [ENOUGH]", None), ("never [ENOUGH] here", None),
    ("That is enough information to finish.", None),
    # two labels, echoes, anything else
    ("I think [ENOUGH] or [NOT_ENOUGH]", None), ("ENOUGH NOT_ENOUGH", None),
    ("Reply with one label only: [ENOUGH] if it is sufficient, [NOT_ENOUGH] if not.", None),
    ("maybe", None), ("", None), ("enoughness", None), ("Yes", None), ("Label:", None),
]


@pytest.mark.parametrize("reply,label", LABELS)
def test_parse_label(reply, label):
    assert parse_label(reply) is label


def test_the_label_table_is_large_and_covers_every_outcome():
    assert len(LABELS) >= 20 and {label for _, label in LABELS} == {True, False, None}


# The authors' reading (NEUIR/P-ALIGN src/binary_search.py:98-100): "[ENOUGH]" anywhere, or exactly "ENOUGH".
AUTHORS_LABELS = [
    ("[ENOUGH]", True), ("[NOT_ENOUGH]", False), ("ENOUGH", True), ("  ENOUGH \n", True), ("NOT_ENOUGH", False),
    ("[ENOUGH]\nThe prefix already has the key step.", True), ("Label: [ENOUGH]", True),
    # where the strict reading differs: both labels, a negation, case, emphasis, a full stop
    ("I think [ENOUGH] or [NOT_ENOUGH]", True), ("It is not [ENOUGH]", True),
    ("Reply with one label only: [ENOUGH] if it is sufficient, [NOT_ENOUGH] if not.", True),
    ("enough", False), ("[enough]", False), ("[ ENOUGH ]", False), ("**ENOUGH**", False), ("ENOUGH.", False),
    ("The prefix is ENOUGH.", False), ("", False), ("maybe", False),
]


@pytest.mark.parametrize("reply,label", AUTHORS_LABELS)
def test_authors_label(reply, label):
    assert authors_label(reply) is label


def test_the_authors_table_covers_both_outcomes_and_every_disagreement_with_strict():
    assert {label for _, label in AUTHORS_LABELS} == {True, False}
    disagree = {(parse_label(r) is True, a) for r, a in AUTHORS_LABELS if bool(parse_label(r)) != a}
    assert disagree == {(False, True), (True, False)}  # each reading says enough where the other does not


def test_self_judge_reads_replies_as_judge_parse_says(tmp_path, fake_pool):
    def reply(prompt, j):
        if "Partial reasoning" not in prompt:
            return FakeStudent.solve(prompt, j)
        # both labels: the authors' reading says enough, the strict one cannot tell (not enough)
        return "[ENOUGH] or [NOT_ENOUGH]" if "KEY" in prompt else "[NOT_ENOUGH]"

    traces = [make_trace(0, 6, 3)]
    strict = run_method("palign", traces, make_ctx(tmp_path / "s", FakeStudent(reply)), judge="self")
    authors = run_method("palign", traces, make_ctx(tmp_path / "a", FakeStudent(reply)), judge="self",
                         judge_parse="authors")
    assert authors.stats["kept_prefix_ratios"] == [0.5] and authors.stats["judge_parse"] == "authors"
    assert strict.stats["full_cot_fallbacks"] == 1 and strict.stats["kept_prefix_ratios"] == [1.0]
    # both count by the strict reading: t=3 (then t=1, t=2 read fine) against t=3, 5, 6
    assert (authors.stats["unparseable_judge_replies"], strict.stats["unparseable_judge_replies"]) == (1, 3)


# ------------------------------------------------------------------ only the student's own answer counts

LEAKS = {
    # the teacher's box in the prefix, then student garbage
    "teacher box, garbage": ("First step. So the total is \\boxed{42}. ", " xq zz lorem ipsum"),
    # the student's box is unclosed: the teacher's would be graded instead
    "unclosed student box": ("First step. So the total is \\boxed{42}. ", " Therefore \\boxed{4"),
    # the prefix states the answer in words, the continuation states none
    "answer in the prefix": ("First step. So the answer should be 42. ", " Let me think about it more."),
}


def _leak_trace(prefix: str) -> Trace:
    return Trace(id="leak", problem="What is six times seven?", answer="42", long_cot=prefix + "More. ", short_cot="")


@pytest.mark.parametrize("case", [*LEAKS, "control"])
def test_the_filter_and_the_judge_grade_the_continuation_alone(case, tmp_path):
    """The real grader pool: a leak would make the judge call the prefix sufficient and the filter keep it."""
    prefix, continuation = LEAKS.get(case, ("First step. So the answer should be 42. ", " Indeed \\boxed{42}."))
    trace = _leak_trace(prefix)
    student = FakeStudent(reply=lambda prompt, j: continuation)
    ctx = make_ctx(tmp_path, student, grader_workers=1)
    try:
        generator, grade = method_tools(ctx)
        judge = RolloutJudge(generator, "Solve.", None, 0, sampling=SamplingConfig(temperature=0.6), grade=grade, k=2)
        verdict = judge([JudgeQuery(trace, prefix, 2)])
        plan = Plan(trace, split_sentences(trace.long_cot), 2)
        kept = align_plans([plan], PrefixSettings(), generator, grade, instruction="Solve.", enable_thinking=None,
                           sampling=SamplingConfig(temperature=0.6), seed=0, max_length=None)
    finally:
        ctx.close()
    assert split_sentences(trace.long_cot)[:2] == [p for p in split_sentences(prefix)]
    expected = case == "control"
    assert verdict == [expected] and bool(judge.correct) is expected
    assert len(kept.examples) == int(expected)
    assert kept.stats["dropped"] == ({} if expected else {"no_correct_continuation": 1})


# ------------------------------------------------------------------ alignment

def test_alignment_target_is_verbatim_prefix_then_student_continuation():
    trace = make_trace(1, 6, need=3)
    plan, result = align_one(trace, 3, FakeStudent(), PrefixSettings(samples=2))
    prefix = "".join(split_sentences(trace.long_cot)[:3])
    assert plan.continuation == " So the result is \\boxed{41}."
    assert prefix.endswith(" ")  # the teacher's own whitespace goes; the prompt must not end in a bare space
    assert result.examples[0].completion == f"<Begin_of_Prefix>{prefix.rstrip()}<End_of_Prefix>{plan.continuation}"
    assert result.examples[0].prompt == "Solve.\n" + trace.problem
    _, plain = align_one(trace, 3, FakeStudent(), PrefixSettings(markers=False))
    assert plain.examples[0].completion == prefix.rstrip() + plan.continuation


def test_incorrect_continuations_are_never_kept():
    trace = make_trace(2, 6, need=3)

    def reply(prompt, j):  # sample 1 is right, the others wrong
        return " \\boxed{42}." if j == 1 else " \\boxed{7}."

    plan, _ = align_one(trace, 2, FakeStudent(reply), PrefixSettings(samples=3))
    assert plan.continuation == " \\boxed{42}."
    plan, result = align_one(trace, 2, FakeStudent(), PrefixSettings(samples=3))  # no KEY step: the student fails
    assert result.examples == [] and plan.continuation is None and plan.reason == "no_correct_continuation"


def test_an_example_longer_than_train_max_length_is_dropped_and_counted():
    trace = make_trace(3, 6, need=2)
    _, fits = align_one(trace, 2, FakeStudent(), max_length=100)
    _, long = align_one(trace, 2, FakeStudent(), max_length=20)
    assert len(fits.examples) == 1 and long.examples == [] and long.stats["dropped"] == {"example_over_max_length": 1}


# ------------------------------------------------------------------ palign

def test_palign_finds_minimal_prefix_and_reuses_the_judges_rollouts(tmp_path, fake_pool):
    traces = [make_trace(i, m, need) for i, (m, need) in enumerate([(8, 3), (5, 5), (12, 1), (7, 2)])]
    student = FakeStudent()
    result = run_method("palign", traces, make_ctx(tmp_path, student), rollouts=2, threshold=1.0)
    stats = result.stats
    assert stats["kept_prefix_ratios"] == [round(r, 4) for r in (3 / 8, 5 / 5, 1 / 12, 2 / 7)]
    assert stats["kept"] == 4 and stats["dropped"] == {}
    # One generate call per search round; every chosen prefix had a correct rollout, so no alignment call.
    assert stats["reused_judge_rollouts"] == 4
    assert len(student.calls) == stats["judge_rounds"] == stats["judge_generate_calls"]
    assert stats["judge_queries_per_trace_max"] <= 4  # ceil(log2(12 + 1))
    for trace, example in zip(traces, result.examples):
        pieces = split_sentences(trace.long_cot)
        t = pieces.index("The KEY step is here. ") + 1
        assert example.completion.startswith("<Begin_of_Prefix>" + "".join(pieces[:t]).rstrip() + "<End_of_Prefix>")
        assert example.completion.endswith(f"\\boxed{{{trace.answer}}}.")


def test_a_trace_judged_sufficient_is_not_dropped_by_a_fresh_failed_sample(tmp_path, fake_pool):
    def reply(prompt, j):  # rollout 1 of 2 is right (sufficient at threshold 0.5); alignment's sample 0 is wrong
        return FakeStudent.solve(prompt, j) if j == 1 else " \\boxed{0}."

    traces = [make_trace(0, 6, 2)]
    reused = run_method("palign", traces, make_ctx(tmp_path / "a", FakeStudent(reply)), rollouts=2)
    fresh = run_method("palign", traces, make_ctx(tmp_path / "b", FakeStudent(reply)), rollouts=2,
                       reuse_judge_rollout=False)
    assert reused.stats["kept"] == 1 and reused.stats["reused_judge_rollouts"] == 1
    assert fresh.stats["kept"] == 0 and fresh.stats["dropped"] == {"no_correct_continuation": 1}


def test_the_rollout_judge_uses_the_alignment_prompt_style(tmp_path, fake_pool):
    student = FakeStudent()
    run_method("palign", [make_trace(0, 4, 2)], make_ctx(tmp_path, student), prompt_style="draft",
               reuse_judge_rollout=False)
    assert student.prompts and all("Here is a draft of the beginning of a solution" in p for p in student.prompts)
    assert not any(p.rstrip().endswith("here.") for p in student.prompts)  # nothing prefilled


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
    stats = run_method("palign", traces, ctx, rollouts=2, threshold=1.0).stats
    assert stats["judge_rounds"] >= 3 and stats["kept"] == 2
    assert started == [(ctx.grader_workers, ctx.grader_timeout)] and not closed
    ctx.close()
    assert closed == [True]


def test_palign_resumes_from_its_generation_cache(tmp_path, fake_pool):
    traces = [make_trace(i, 6, 4) for i in range(3)]
    first = run_method("palign", traces, make_ctx(tmp_path, FakeStudent()))
    again = FakeStudent()
    second = run_method("palign", traces, make_ctx(tmp_path, again))
    assert again.calls == [] and [e.completion for e in second.examples] == [e.completion for e in first.examples]


def test_self_judge_counts_unparseable_replies(tmp_path, fake_pool):
    def reply(prompt, j):
        if "Partial reasoning" not in prompt:
            return FakeStudent.solve(prompt, j)
        return "[ENOUGH]" if "KEY" in prompt else "The prefix isn't enough."

    traces = [make_trace(i, 6, 3) for i in range(2)]
    result = run_method("palign", traces, make_ctx(tmp_path, FakeStudent(reply)), judge="self")
    assert result.stats["kept_prefix_ratios"] == [0.5, 0.5]
    assert result.stats["unparseable_judge_replies"] == 2 * 2  # t=3 (enough), t=1, t=2 per trace: two unclear


def test_drop_policy_reports_traces_without_sufficient_prefix(tmp_path, fake_pool):
    traces = [make_trace(0, 5, 2), Trace("x", "Problem: answer=9.", "9", "No key here. None at all.", "")]
    result = run_method("palign", traces, make_ctx(tmp_path, FakeStudent()), failure_policy="drop")
    assert result.stats["dropped"] == {"no_sufficient_prefix": 1} and result.stats["kept"] == 1


# ------------------------------------------------------------------ the student's context

def test_a_fallback_longer_than_the_context_never_reaches_the_engine(tmp_path, fake_pool):
    # 16 sentences of 5 words; the prompt is about 15 words, 64 new tokens: 5-6 sentences fit in 110.
    traces = [make_trace(0, 16, 3), make_trace(1, 16, 12), make_trace(2, 2, 2)]
    student = FakeStudent(max_context=110)
    ctx = make_ctx(tmp_path, student, sampling=SamplingConfig(temperature=0.6, max_new_tokens=64))
    result = run_method("palign", traces, ctx)
    assert 0 < student.longest <= 110
    # Trace 1 needs 12 sentences: nothing that fits is sufficient, and the whole CoT does not fit.
    assert result.stats["dropped"] == {"fallback_over_context": 1}
    assert result.stats["kept_prefix_ratios"] == [3 / 16, 1.0] and result.stats["full_cot_fallbacks"] == 0


def test_the_search_range_is_what_fits(tmp_path, fake_pool):
    traces = [make_trace(0, 16, 3)]
    student = FakeStudent(max_context=110)
    ctx = make_ctx(tmp_path, student, sampling=SamplingConfig(temperature=0.6, max_new_tokens=64))
    result = run_method("palign", traces, ctx)
    limit = result.stats["searched_pieces_mean"]
    prompt = student.prompts[0].split("<assistant> ")[0] + "<assistant> "
    overhead = len(prompt.split())
    assert overhead + 5 * limit + 64 <= 110 < overhead + 5 * (limit + 1) + 64


def test_max_prefix_tokens_caps_the_search(tmp_path, fake_pool):
    traces = [make_trace(0, 16, 3), make_trace(1, 16, 12)]
    result = run_method("palign", traces, make_ctx(tmp_path, FakeStudent()), max_prefix_tokens=20)
    assert result.stats["searched_pieces_mean"] == 4
    assert result.stats["judge_queries_per_trace_max"] <= 3  # ceil(log2(4 + 1))
    assert result.stats["dropped"] == {"fallback_over_context": 1}


def test_bad_parameters_fail_when_parsed():
    for name, params in [("palign", {"threshold": 5}), ("palign", {"judge": "oracle"}), ("palign", {"rollouts": 0}),
                         ("palign", {"failure_policy": "keep"}), ("palign", {"prompt_style": "chat"}),
                         ("palign", {"unit": "word"}), ("fixed_trunc", {"ratio": 2}), ("fixed_trunc", {"ratio": 0}),
                         ("fixed_trunc", {"variant": "x"}), ("mix_cot", {"long_fraction": 1.5}),
                         ("palign", {"judge_parse": "loose"}), ("palign", {"judge_sampling": "hot"}),
                         ("full_cot", {"target": "thinking"})]:
        with pytest.raises(HarnessError, match=next(iter(params))):
            get_method(name).parse_params(params)


# ------------------------------------------------------------------ fixed_trunc shares the path

def test_fixed_trunc_cuts_and_aligns_like_palign(tmp_path, fake_pool):
    traces = [make_trace(0, 8, 3), make_trace(1, 8, 6)]
    ctx = make_ctx(tmp_path, FakeStudent())
    result = run_method("fixed_trunc", traces, ctx)  # cut at 4 of 8: only trace 0 has its KEY step
    assert [e.id for e in result.examples] == ["t0"] and result.stats["kept_prefix_ratios"] == [0.5]
    assert result.stats["dropped"] == {"no_correct_continuation": 1}
    palign_keys = set(run_method("palign", traces, make_ctx(tmp_path / "p", FakeStudent())).stats)
    assert set(result.stats) - {"generated_tokens"} <= palign_keys
    prefix_only = run_method("fixed_trunc", traces, ctx, variant="prefix_only", ratio=0.25)
    assert [e.completion for e in prefix_only.examples] == ["".join(split_sentences(t.long_cot)[:2]).rstrip() for t in traces]


def test_a_fixed_cut_that_does_not_fit_is_dropped_not_clipped(tmp_path, fake_pool):
    traces = [make_trace(0, 16, 3)]
    student = FakeStudent(max_context=110)
    ctx = make_ctx(tmp_path, student, sampling=SamplingConfig(temperature=0.6, max_new_tokens=64))
    short = run_method("fixed_trunc", traces, ctx, ratio=0.25)
    long = run_method("fixed_trunc", traces, ctx, ratio=0.75)
    assert short.stats["kept"] == 1 and long.stats["dropped"] == {"cut_over_context": 1}
    assert student.longest <= 110


# ------------------------------------------------------------------ the other baselines

def test_sft_baselines_and_the_control(tmp_path):
    traces = [make_trace(0, 8, 3), make_trace(1, 8, 6)]
    ctx = make_ctx(tmp_path, FakeStudent())
    full = get_method("full_cot").fn(traces, None, ctx)
    assert full.examples[0].completion.startswith(traces[0].long_cot)
    assert full.examples[0].completion.endswith("\\boxed{40}.")
    assert run_method("full_cot", traces, ctx).examples == full.examples  # target=thinking_boxed, the default
    s1 = run_method("full_cot", traces, ctx, target="s1").examples[1].completion
    assert s1 == f"<|im_start|>think\n{traces[1].long_cot.strip()}\n<|im_start|>answer\nAnswer: \\boxed{{41}}"
    assert get_method("short_cot").fn(traces, None, ctx).examples[1].completion == "\\boxed{41}"
    assert get_method("none").trains is False and get_method("none").fn(traces, None, ctx).examples == []


def test_mix_cot_mixes_one_long_for_every_four_short(tmp_path):
    traces = [make_trace(i, 6, 2) for i in range(20)]
    result = run_method("mix_cot", traces, make_ctx(tmp_path, FakeStudent()))
    long = [e for e, t in zip(result.examples, traces) if e.completion.startswith(t.long_cot)]
    assert len(result.examples) == 20 and len(long) == 4 == result.stats["long_examples"]
    assert result.stats["short_examples"] == 16
    again = run_method("mix_cot", traces, make_ctx(tmp_path, FakeStudent()))
    assert [e.completion for e in again.examples] == [e.completion for e in result.examples]  # seeded
    assert run_method("mix_cot", traces, make_ctx(tmp_path, FakeStudent()), long_fraction=1.0).stats["long_examples"] == 20


def test_cached_generator_keys_on_the_sampling(tmp_path):
    student = FakeStudent()
    gen = CachedGenerator(student, tmp_path / "g.jsonl")
    from harness.engines.base import GenerationRequest

    gen.generate([GenerationRequest("answer=1.", "a", [0])], SamplingConfig(temperature=0.5))
    gen.generate([GenerationRequest("answer=1.", "a", [0])], SamplingConfig(temperature=0.5))
    gen.generate([GenerationRequest("answer=1.", "a", [0])], SamplingConfig(temperature=0.7))
    assert student.calls == [1, 1]
