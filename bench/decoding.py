"""Decoding: the transformers engine with and without its in-place KV cache and sort-free top-p.

"Before" swaps the two back for what they replaced (transformers' `DynamicCache`, which
appends each step's keys with `torch.cat`, and top-p through `torch.sort` of every row);
"after" is the engine as shipped. Both generate the same requests in one process, with the
synthetic preset's evaluation sampling (n=4 at temperature 0.6, top-p 0.9, repetition
penalty 1.05, up to 400 new tokens), in interleaved repeats; the texts are compared sample
by sample. Grading and start-up are left out: this is the engine alone.

    python bench/decoding.py [--model DIR] [--benchmark synth_target] [--limit 400] [--repeats 2]

Without --model the synthetic student is built (or reused) in $HARNESS_STORE / --store.
The figure in docs/PERFORMANCE.md used a P-ALIGN-trained student (long answers):
`--model STORE/train/palign-*/model` after `harness run --method palign`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from common import machine, student
from tabulate import tabulate
from transformers import DynamicCache

from harness.config import EngineConfig, resolve_run_config
from harness.engines import GenerationRequest, decoding, load_engine, sampling
from harness.eval.benchmarks import get_benchmark
from harness.eval.prompts import render_prompt


def sorted_top_p_drop(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Top-p as the engine computed it before: `torch.sort` of every row."""
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    probs = sorted_scores.softmax(-1)
    return torch.zeros_like(scores, dtype=torch.bool).scatter(1, order, (probs.cumsum(-1) - probs) >= top_p)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the synthetic world's synth:tiny)")
    p.add_argument("--store", help="run store holding the synthetic student (default $HARNESS_STORE)")
    p.add_argument("--benchmark", default="synth_target")
    p.add_argument("--limit", type=int, default=400, help="problems (default 400: all of synth_target)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2, help="runs of each variant, interleaved; medians are reported")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    model = student(args.model, args.store)
    cfg = resolve_run_config("synthetic")
    engine = load_engine(model, EngineConfig(name="transformers", device="cpu", dtype="float32", batch_size=args.batch_size))
    problems = get_benchmark(args.benchmark).load()[: args.limit]
    n = cfg.eval.n
    requests = [GenerationRequest(render_prompt(engine.tokenizer, p.problem, cfg.eval.instruction), p.id, list(range(n)))
                for p in problems]
    shipped = (decoding.growing_cache, sampling.top_p_drop)
    before = (lambda config: DynamicCache(config=config), sorted_top_p_drop)

    def run(variant: tuple) -> tuple[float, list[str], int]:
        decoding.growing_cache, sampling.top_p_drop = variant
        try:
            start = time.perf_counter()
            out = engine.generate(requests, cfg.eval.sampling)
            return time.perf_counter() - start, [c.text for cs in out for c in cs], sum(c.num_tokens for cs in out for c in cs)
        finally:
            decoding.growing_cache, sampling.top_p_drop = shipped

    times: dict[str, list[float]] = {"before": [], "after": []}
    texts: dict[str, list[str]] = {}
    for _ in range(args.repeats):
        for name, variant in (("before", before), ("after", shipped)):
            seconds, texts[name], tokens = run(variant)
            times[name].append(seconds)
    b, a = statistics.median(times["before"]), statistics.median(times["after"])
    differ = sum(x != y for x, y in zip(texts["before"], texts["after"]))
    samples = len(texts["after"])
    print(f"{len(problems)} problems of {args.benchmark} x {n} samples, batch {args.batch_size}, {tokens} tokens, model {model}")
    print(tabulate([["before (DynamicCache, torch.sort top-p)", f"{b:.1f}", f"{tokens / b:.0f}"],
                    ["after (in-place cache, sort-free top-p)", f"{a:.1f}", f"{tokens / a:.0f}"]],
                   headers=["engine", "wall s (median)", "tokens/s"]))
    print(f"speed-up {b / a:.2f}x; texts differ in {differ} of {samples} samples")
    ok = differ == 0 and a < b
    print(f"{int(differ == 0) + int(a < b)} passed, {int(differ != 0) + int(a >= b)} failed "
          "(targets: identical samples, after faster than before)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "model": model, "benchmark": args.benchmark, "problems": len(problems), "samples": samples,
            "tokens": tokens, "seconds": times, "speedup": round(b / a, 3), "texts_differ": differ}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
