"""Measure the synthetic world: `python -m harness.synth.measure [--model FOLDER] [--limit N] [--seed N]`.

Prints, for the teacher's target-tier traces, the long CoT's length (pieces, student
tokens) against the write-up and the concise solution, where the key step ends (share of
the CoT), and the longest prompt + long CoT against the context; with --model, the
student's greedy accuracy on synth_target and synth_routine. docs/synthetic-world.md
quotes its output.
"""

from __future__ import annotations

import argparse
import statistics

from harness.config import WorldConfig, resolve_run_config
from harness.synth.problems import synth_specs
from harness.synth.teacher import TEACHER_TIER, concise_solution, key_sentence, teacher_trace, write_up


def trace_lengths(tokenizer, world: WorldConfig, n: int = 300) -> dict:
    from harness.synth.pretrain import render
    from harness.toolkit.splitter import split_sentences

    count = lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)  # noqa: E731
    longs, ups, concise, pieces, depth, totals = [], [], [], [], [], []
    for spec in synth_specs("teacher", TEACHER_TIER, n, world.seed):
        sentences = teacher_trace(world, spec)
        text = " ".join(s for s, _ in sentences)
        longs.append(count(text))
        ups.append(count(write_up(spec)))
        concise.append(count(concise_solution(spec)))
        pieces.append(len(split_sentences(text)))
        depth.append(key_sentence(sentences, spec) / len(sentences))
        totals.append(count(render(tokenizer, spec.text)) + longs[-1])
    quartiles = [sum(1 for d in depth if q / 4 <= d < (q + 1) / 4 or (q == 3 and d == 1.0)) for q in range(4)]
    return {
        "traces": n,
        "long_cot_tokens_median": statistics.median(longs),
        "long_cot_tokens_max": max(longs),
        "write_up_tokens_median": statistics.median(ups),
        "concise_tokens_median": statistics.median(concise),
        "ratio_long_to_write_up": round(statistics.median(longs) / statistics.median(ups), 1),
        "sentences_median": statistics.median(pieces),
        "key_step_depth_median": round(statistics.median(depth), 2),
        "key_step_depth_quartiles": quartiles,
        "prompt_plus_long_cot_max": max(totals),
        "context": world.context_length,
    }


def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.eval.benchmarks import get_benchmark
    from harness.synth.pretrain import greedy_accuracy
    from harness.synth.world import build_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a built student folder (else only lengths, with a freshly trained tokenizer)")
    parser.add_argument("--limit", type=int, default=None, help="problems per benchmark for accuracy")
    parser.add_argument("--seed", type=int, default=0, help="world seed of the teacher traces")
    parser.add_argument("--traces", type=int, default=None, help="teacher traces to measure (default: the preset's teacher.num_problems)")
    args = parser.parse_args()
    world = WorldConfig(seed=args.seed)
    tok = AutoTokenizer.from_pretrained(args.model) if args.model else build_tokenizer(world)
    traces = args.traces or resolve_run_config().teacher.num_problems
    for key, value in trace_lengths(tok, world, traces).items():
        print(f"{key}: {value}")
    if args.model:
        model = AutoModelForCausalLM.from_pretrained(args.model)
        for name in ("synth_target", "synth_routine"):
            problems = get_benchmark(name).load()[: args.limit]
            print(name, greedy_accuracy(model, tok, problems, max_new_tokens=200))


if __name__ == "__main__":
    main()
