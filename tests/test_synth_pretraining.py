"""The students' pretraining data (world revision 2.3): what it teaches, and what it must never show."""

import re

from math_verify import parse, verify

import harness.synth.pretrain as pretrain
from harness.config import WorldConfig
from harness.synth.novel import NOVEL_TAILS, novel_spec
from harness.synth.problems import _rng, synth_specs
from harness.synth.teacher import concise_solution, continuation, teacher_sentences

# Words of the key step's two wordings ("twice as many stickers as before, plus 3", "grow to
# three times the count, plus 3"); "before" alone occurs in one novel ending, "before dinner".
KEY_WORDS = (" twice ", " times ", "as many", "before,", " plus ", " grow ", " count,")
FIXED_ANCHORS = re.compile(r"^(buys \d+ more|finds \d+ more|gives \w+ \d+|gives away \d+|loses \d+|gives \d+ \w+|doubles|triples)$")


def test_pretraining_chains_are_as_long_as_the_targets_and_worded_many_ways():
    pre = synth_specs("pretrain", "routine", 400, 0)
    assert {len(s.steps) for s in pre} == {2, 3, 4}
    reworded = sum(not FIXED_ANCHORS.match(step.anchor) for s in pre for step in s.steps)
    assert 0.3 < reworded / sum(len(s.steps) for s in pre) < 0.7  # half the changes, in four more wordings
    for stream, tier in (("dev", "routine"), ("benchmark", "routine"), ("benchmark", "target"), ("teacher", "target")):
        specs = synth_specs(stream, tier, 200, 0)
        # held-out problems keep the three wordings and 2-3 routine changes the world was tuned with
        assert all(FIXED_ANCHORS.match(st.anchor) for s in specs for st in s.steps if st.kind != "key"), stream
        assert {len(s.steps) - (s.key_index is not None) for s in specs} == {2, 3}


def test_novel_changes_are_worded_anew_and_their_computation_is_never_learned(monkeypatch):
    monkeypatch.setattr(pretrain, "PREFIX_FRACTION", 1.0)
    monkeypatch.setattr(pretrain, "NOVEL_FRACTION", 1.0)
    examples = pretrain.pretrain_examples(WorldConfig(pretrain_problems=200))
    assert len(examples) == 200 and all(e.prefix for e in examples)
    odd = [next(s for s in e.prompt.split(". ") if any(t in s for t in NOVEL_TAILS)) for e in examples]
    assert len(set(odd)) > 150  # no wording repeats often enough to be learned as "a change"
    assert not any(w in e.prompt + " " + e.prefix + " " + e.target for e in examples for w in KEY_WORDS)
    affine = [e for e in examples if re.search(r"\* [23] = (\d+)\. \1 \+ ", e.prefix)]
    assert len(affine) > 50
    assert not any(re.search(r"\* [23] = (\d+)\. \1 \+ ", e.target) for e in examples)  # shown, never learned
    assert not any(t in e.target for e in examples for t in NOVEL_TAILS)


def test_prefix_shares_and_every_cut_of_a_novel_trace_goes_on_to_the_answer():
    examples = pretrain.pretrain_examples(WorldConfig(pretrain_problems=600))
    prefixed = [e for e in examples if e.prefix]
    novel = [e for e in prefixed if any(t in e.prompt for t in NOVEL_TAILS)]
    assert 0.15 < len(prefixed) / len(examples) < 0.35 and 0.3 < len(novel) / len(prefixed) < 0.7
    world = WorldConfig()
    for i in range(50):
        rng = _rng(0, "novel-test", i)
        spec, at = novel_spec(rng)
        assert at < len(spec.steps) - 1 and spec.steps[at].kind in ("affine", "+", "-")
        sentences = teacher_sentences(spec, world, rng)
        gold = parse(str(spec.answer))
        assert concise_solution(spec).endswith(f"\\boxed{{{spec.answer}}}.")
        for k in range(1, len(sentences)):
            text = " ".join(s for s, _ in sentences[:k]) + " " + continuation(spec, sentences[k - 1][1])
            assert verify(gold, parse(text)), text
