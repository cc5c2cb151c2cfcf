"""The synthetic world's data: determinism, disjoint streams, gradeable answers, CoT shape."""

import re
import statistics
from dataclasses import replace

import pytest
from math_verify import parse, verify

from harness.config import WorldConfig
from harness.errors import HarnessError
from harness.synth.problems import STREAMS, TIERS, canonical_text, stream_of, synth_problems, synth_specs
from harness.synth.teacher import cot_head, continuation, long_cot, synth_traces

SMALL = WorldConfig(pretrain_problems=300)


def test_problems_are_deterministic_and_seeded():
    a = synth_problems("benchmark", "hard", 50, 0)
    assert a == synth_problems("benchmark", "hard", 50, 0)
    assert [p.problem for p in a] != [p.problem for p in synth_problems("benchmark", "hard", 50, 1)]
    assert [p.id for p in a[:2]] == ["synth-hard-0000", "synth-hard-0001"]
    assert synth_problems("benchmark", "hard", 10, 0) == a[:10]  # a prefix of a larger draw


def test_streams_never_share_a_problem_across_seeds():
    texts = {}
    for stream in STREAMS:
        texts[stream] = set()
        for seed in (0, 1):
            for tier in TIERS:
                texts[stream] |= {canonical_text(p.problem) for p in synth_problems(stream, tier, 700, seed)}
    assert all(len(t) > 2500 for t in texts.values())
    assert not texts["teacher"] & texts["benchmark"]
    assert not texts["pretrain"] & texts["benchmark"]
    assert not texts["pretrain"] & texts["teacher"]
    assert all(stream_of(t) == s for s, ts in texts.items() for t in list(ts)[:100])


def test_tiers_grow_in_steps_numbers_and_distractors():
    def mean(tier, f):
        return statistics.mean(f(s) for s in synth_specs("benchmark", tier, 200, 0))

    for f in (lambda s: len(s.steps), lambda s: len(s.distractors), lambda s: max(map(abs, s.values()))):
        assert mean("easy", f) < mean("medium", f) < mean("hard", f)


def test_unknown_stream_or_tier_is_a_user_error():
    with pytest.raises(HarnessError, match="stream"):
        synth_problems("train", "easy", 1, 0)
    with pytest.raises(HarnessError, match="tier"):
        synth_problems("teacher", "impossible", 1, 0)


def test_gold_answers_grade_and_teacher_traces_are_correct():
    records = synth_traces(WorldConfig(), 60)
    assert {r["source"] for r in records} == {"synth"} and {r["teacher"] for r in records} == {"synth-teacher"}
    assert sum("hard" in r["id"] for r in records) > len(records) / 2
    assert any("frac" in r["answer"] for r in synth_traces(WorldConfig(), 200))
    for r in records:
        gold = parse(r["answer"])
        assert gold, r["answer"]
        assert verify(gold, parse(r["long_cot"])) and verify(gold, parse(r["short_cot"])), r["id"]
        assert not verify(gold, parse(f"\\boxed{{{r['answer']} + 1}}"))


def test_wrong_fraction_makes_wrong_traces():
    records = synth_traces(replace(WorldConfig(), wrong_fraction=1.0), 30)
    wrong = [r for r in records if not verify(parse(r["answer"]), parse(r["long_cot"]))]
    assert len(wrong) == len(records)
    assert all(verify(parse(r["answer"]), parse(r["short_cot"])) for r in records)


def test_traces_are_deterministic():
    assert synth_traces(WorldConfig(seed=3), 40) == synth_traces(WorldConfig(seed=3), 40)
    assert synth_traces(WorldConfig(seed=3), 40) != synth_traces(WorldConfig(seed=4), 40)


def test_settings_change_length():
    def total(world):
        return sum(len(r["long_cot"]) for r in synth_traces(world, 30))

    base = total(WorldConfig())
    assert total(replace(WorldConfig(), verbosity=2.0)) > base > total(replace(WorldConfig(), verbosity=0.3))
    assert total(replace(WorldConfig(), redundancy=2.0)) > base > total(replace(WorldConfig(), redundancy=0.3))


def test_head_of_the_long_cot_is_sufficient():
    """Any cut inside the head plus the concise continuation reaches the gold answer."""
    import random

    for spec in synth_specs("teacher", "hard", 30, 0):
        head = cot_head(spec, spec.values(), random.Random(0))
        gold = parse(f"${spec.answer.numerator}/{spec.answer.denominator}$")
        for k in range(1, len(head) + 1):
            text = " ".join(s for s, _ in head[:k]) + " " + continuation(spec, head[k - 1][1])
            assert verify(gold, parse(text))
        full = long_cot(spec, rng=random.Random(0))
        assert full.startswith(" ".join(s for s, _ in head))
        assert len(" ".join(s for s, _ in head)) < 0.3 * len(full)


def test_tokenizer_is_byte_identical_for_the_same_seed(tmp_path):
    from harness.synth.world import build_tokenizer

    a, b = build_tokenizer(SMALL), build_tokenizer(SMALL)
    a.save_pretrained(tmp_path / "a")
    b.save_pretrained(tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_hard_long_cot_is_much_longer_than_the_short_solution():
    from harness.synth.world import build_tokenizer

    tok = build_tokenizer(SMALL)
    hard = [r for r in synth_traces(WorldConfig(), 100) if "-hard-" in r["id"]]
    long_tokens = statistics.median(len(tok(r["long_cot"]).input_ids) for r in hard)
    short_tokens = statistics.median(len(tok(r["short_cot"]).input_ids) for r in hard)
    sentences = statistics.median(len(re.findall(r"[.!?](?:\s|$)", r["long_cot"])) for r in hard)
    assert long_tokens >= 4 * short_tokens
    assert sentences >= 20
    assert long_tokens > WorldConfig().context_length > short_tokens
