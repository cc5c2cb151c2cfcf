"""Measure the synthetic world: `python -m harness.synth.measure [--model FOLDER] [--limit N]`.

Prints teacher long-CoT length (sentences, student tokens) against the short solution and
the student context per tier and, with --model, the base student's greedy accuracy on
synth_easy and synth_hard (math-verify on the boxed answer). docs/synthetic-world.md
quotes its output.
"""

from __future__ import annotations

import argparse
import re
import statistics

from harness.config import WorldConfig
from harness.synth.problems import synth_specs
from harness.synth.teacher import long_cot, short_solution
from harness.synth.problems import _rng


def cot_lengths(tokenizer, world: WorldConfig, n: int = 100) -> dict:
    out = {}
    for tier in ("easy", "medium", "hard"):
        longs, shorts, sentences = [], [], []
        for spec in synth_specs("teacher", tier, n, world.seed):
            text = long_cot(spec, world.verbosity, world.redundancy, _rng(world.seed, "teacher-cot", spec.text))
            longs.append(len(tokenizer(text).input_ids))
            shorts.append(len(tokenizer(short_solution(spec)).input_ids))
            sentences.append(len(re.findall(r"[.!?](?:\s|$)", text)))
        out[tier] = {
            "long_tokens_median": statistics.median(longs),
            "short_tokens_median": statistics.median(shorts),
            "ratio": round(statistics.median(longs) / statistics.median(shorts), 1),
            "long_sentences_median": statistics.median(sentences),
            "long_over_context": round(sum(x > world.context_length for x in longs) / len(longs), 2),
        }
    return out


def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.eval.benchmarks import get_benchmark
    from harness.synth.pretrain import greedy_accuracy
    from harness.synth.world import build_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a built student folder (else only lengths, with a freshly trained tokenizer)")
    parser.add_argument("--limit", type=int, default=None, help="problems per benchmark for accuracy")
    args = parser.parse_args()
    world = WorldConfig()
    tok = AutoTokenizer.from_pretrained(args.model) if args.model else build_tokenizer(world)
    print(f"student context: {world.context_length} tokens")
    for tier, row in cot_lengths(tok, world).items():
        print(tier, row)
    if args.model:
        model = AutoModelForCausalLM.from_pretrained(args.model)
        for name in ("synth_easy", "synth_hard"):
            problems = get_benchmark(name).load()[: args.limit]
            print(name, greedy_accuracy(model, tok, problems))


if __name__ == "__main__":
    main()
