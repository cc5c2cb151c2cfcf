"""The synthetic world's data: determinism, disjoint streams, gradeable answers, CoT shape."""

import random
import statistics
from dataclasses import replace

import pytest
from math_verify import parse, verify

from harness.config import WorldConfig
from harness.errors import HarnessError
from harness.synth.problems import STREAMS, TIERS, canonical_text, stream_of, synth_problems, synth_specs
from harness.synth.teacher import (MAX_COT_CHARS, concise_solution, continuation, key_sentence, long_cot,
                                   synth_traces, teacher_sentences, trace_rng, write_up)

SMALL = WorldConfig(pretrain_problems=300)


def test_problems_are_deterministic_and_seeded():
    a = synth_problems("benchmark", "target", 50, 0)
    assert a == synth_problems("benchmark", "target", 50, 0)
    assert [p.problem for p in a] != [p.problem for p in synth_problems("benchmark", "target", 50, 1)]
    assert [p.id for p in a[:2]] == ["synth-target-0000", "synth-target-0001"]
    assert synth_problems("benchmark", "target", 10, 0) == a[:10]  # a prefix of a larger draw


def test_streams_never_share_a_problem_across_seeds():
    texts = {}
    for stream in STREAMS:
        texts[stream] = set()
        for seed in (0, 1):
            for tier in TIERS:
                texts[stream] |= {canonical_text(p.problem) for p in synth_problems(stream, tier, 600, seed)}
    assert all(len(t) > 2000 for t in texts.values())
    for a in STREAMS:
        for b in STREAMS:
            assert a == b or not texts[a] & texts[b], (a, b)
    assert all(stream_of(t) == s for s, ts in texts.items() for t in list(ts)[:100])


def test_only_the_target_tier_has_the_key_step_and_it_sits_anywhere():
    routine = synth_specs("pretrain", "routine", 300, 0)
    target = synth_specs("benchmark", "target", 300, 0)
    assert all(s.key_index is None for s in routine)
    assert all(sum(step.kind == "key" for step in s.steps) == 1 for s in target)
    positions = {s.key_index / (len(s.steps) - 1) for s in target}
    assert 0.0 in positions and 1.0 in positions  # first change and last change both occur
    assert all(v > 0 for s in routine + target for v in s.values())


def test_unknown_stream_or_tier_is_a_user_error():
    with pytest.raises(HarnessError, match="stream"):
        synth_problems("train", "routine", 1, 0)
    with pytest.raises(HarnessError, match="tier"):
        synth_problems("teacher", "impossible", 1, 0)


def test_gold_answers_grade_and_teacher_traces_are_correct():
    records = synth_traces(WorldConfig(), 60)
    assert {r["source"] for r in records} == {"synth"} and {r["teacher"] for r in records} == {"synth-teacher"}
    assert all("-target-" in r["id"] for r in records)
    for r in records:
        gold = parse(r["answer"])
        assert gold, r["answer"]
        assert verify(gold, parse(r["long_cot"])) and verify(gold, parse(r["short_cot"])), r["id"]
        assert not verify(gold, parse(f"\\boxed{{{int(r['answer']) + 1}}}"))


def test_the_write_up_states_the_key_result_without_its_derivation():
    for spec in synth_specs("teacher", "target", 30, 0):
        key = spec.steps[spec.key_index]
        before = spec.values()[spec.key_index]
        derivation = f"{before} * {key.mult} = {before * key.mult}."
        assert derivation in concise_solution(spec) and derivation in long_cot(spec, rng=random.Random(0))
        assert derivation not in write_up(spec)
        assert f"Then {spec.name} has {spec.values()[spec.key_index + 1]} {spec.item}." in write_up(spec)


def test_wrong_fraction_makes_wrong_traces():
    records = synth_traces(replace(WorldConfig(), wrong_fraction=1.0), 30)
    wrong = [r for r in records if not verify(parse(r["answer"]), parse(r["long_cot"]))]
    assert len(wrong) == len(records)
    assert all(verify(parse(r["answer"]), parse(r["short_cot"])) for r in records)


def test_traces_are_deterministic():
    assert synth_traces(WorldConfig(seed=3), 40) == synth_traces(WorldConfig(seed=3), 40)
    assert synth_traces(WorldConfig(seed=3), 40) != synth_traces(WorldConfig(seed=4), 40)


def test_settings_change_length_within_the_cap():
    def total(world):
        return sum(len(r["long_cot"]) for r in synth_traces(world, 30))

    base = total(WorldConfig())
    assert total(replace(WorldConfig(), verbosity=2.0)) > base > total(replace(WorldConfig(), verbosity=0.3))
    assert total(replace(WorldConfig(), redundancy=2.0)) > base > total(replace(WorldConfig(), redundancy=0.3))
    assert all(len(r["long_cot"]) <= MAX_COT_CHARS for r in synth_traces(replace(WorldConfig(), verbosity=3.0), 60))


def test_any_cut_after_the_key_step_plus_the_concise_continuation_is_correct():
    world = WorldConfig()
    depths = []
    for i, spec in enumerate(synth_specs("teacher", "target", 300, 0)):  # the preset's teacher size
        sentences = teacher_sentences(spec, world, trace_rng(world, spec))
        gold = parse(str(spec.answer))
        key = key_sentence(sentences, spec)
        depths.append(key / len(sentences))
        for k in range(1, len(sentences) + 1) if i < 40 else ():  # grading every cut of 40 traces is enough
            text = " ".join(s for s, _ in sentences[:k]) + " " + continuation(spec, sentences[k - 1][1])
            assert verify(gold, parse(text))
        assert sentences[key - 1][1] == spec.key_index + 1 and sentences[key - 2][1] <= spec.key_index
    assert min(depths) < 0.3 and max(depths) > 0.7  # the key step sits at a varied depth


def test_tokenizer_is_byte_identical_for_the_same_seed(tmp_path):
    from harness.synth.world import build_tokenizer

    a, b = build_tokenizer(SMALL), build_tokenizer(SMALL)
    a.save_pretrained(tmp_path / "a")
    b.save_pretrained(tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_long_cot_is_several_times_the_write_up_and_fits_the_context_with_its_prompt():
    from harness.synth.pretrain import render
    from harness.synth.world import build_tokenizer

    tok = build_tokenizer(WorldConfig())
    records = synth_traces(WorldConfig(), 300)
    n = lambda text: len(tok(text, add_special_tokens=False).input_ids)  # noqa: E731
    long_tokens = [n(r["long_cot"]) for r in records]
    assert statistics.median(long_tokens) >= 4 * statistics.median(n(r["short_cot"]) for r in records)
    assert 150 <= statistics.median(long_tokens) <= 400
    worst = max(n(render(tok, r["problem"])) + n(r["long_cot"]) for r in records)
    assert worst + 2 <= WorldConfig().context_length  # + end of turn and newline


def test_a_check_between_the_steps_ends_on_the_count_the_solution_goes_on_from():
    # A prefix cut right after a re-check must not end on a stale count: the students go on
    # from the last number they read (revision 2.3).
    world, seen = WorldConfig(), 0
    for spec in synth_specs("teacher", "target", 200, 0):
        sentences = teacher_sentences(spec, world, trace_rng(world, spec))
        values = spec.values()
        verifying = False
        for text, done in sentences:
            verifying |= text.startswith("Let me verify the whole chain")
            if text.startswith("Check:") and not verifying:
                # a doubling's check is the sum that gives the new count ("Check: 4 + 4 = 8. Good.")
                assert text.endswith((f"so {values[done]} is right. Good.", f" = {values[done]}. Good.")), text
                seen += 1
    assert seen > 100
