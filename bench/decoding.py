"""Decoding: the transformers engine with and without its CPU speed-ups.

"Before" swaps the in-place KV cache and sort-free top-p back for what they replaced
(transformers' `DynamicCache`, which appends each step's keys with `torch.cat`, and top-p
through `torch.sort` of every row); "after" is the engine as shipped in one process on
all threads; "helpers" adds `engine.cpu_processes` single-threaded processes (the
synthetic preset's 2). All generate the same requests with the synthetic preset's
evaluation sampling (n=4 at temperature 0.6, top-p 0.9, repetition penalty 1.05, up to
400 new tokens), in interleaved repeats; the texts are compared sample by sample. Grading
and start-up are left out: this is the engine alone.

    python bench/decoding.py [--model DIR] [--benchmark synth_target] [--limit 400] [--repeats 2] [--cpu-processes 2]

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

from common import machine, student
from tabulate import tabulate
from transformers import DynamicCache

from harness.config import EngineConfig, resolve_run_config
from harness.engines import GenerationRequest, decoding, load_engine, sampling
from harness.engines.sampling import sorted_top_p_drop
from harness.eval.benchmarks import get_benchmark
from harness.eval.prompts import render_prompt


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the synthetic world's synth:tiny)")
    p.add_argument("--store", help="run store holding the synthetic student (default $HARNESS_STORE)")
    p.add_argument("--benchmark", default="synth_target")
    p.add_argument("--limit", type=int, default=400, help="problems (default 400: all of synth_target)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2, help="runs of each variant, interleaved; medians are reported")
    p.add_argument("--cpu-processes", type=int, default=2, help="processes of the 'helpers' variant (default 2)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    model = student(args.model, args.store)
    cfg = resolve_run_config("synthetic")
    engine = load_engine(model, EngineConfig(name="transformers", device="cpu", dtype="float32", batch_size=args.batch_size))
    helped = load_engine(model, EngineConfig(name="transformers", device="cpu", dtype="float32", batch_size=args.batch_size,
                                             cpu_processes=args.cpu_processes))
    problems = get_benchmark(args.benchmark).load()[: args.limit]
    n = cfg.eval.n
    requests = [GenerationRequest(render_prompt(engine.tokenizer, p.problem, cfg.eval.instruction), p.id, list(range(n)))
                for p in problems]
    shipped = (decoding.growing_cache, sampling.top_p_drop)
    variants = {"before": (engine, (lambda config: DynamicCache(config=config), sorted_top_p_drop)),
                "after": (engine, shipped), "helpers": (helped, shipped)}

    def run(which: str) -> tuple[float, list[str], int]:
        eng, (decoding.growing_cache, sampling.top_p_drop) = variants[which]
        try:
            start = time.perf_counter()
            out = eng.generate(requests, cfg.eval.sampling)
            return time.perf_counter() - start, [c.text for cs in out for c in cs], sum(c.num_tokens for cs in out for c in cs)
        finally:
            decoding.growing_cache, sampling.top_p_drop = shipped

    times: dict[str, list[float]] = {name: [] for name in variants}
    texts: dict[str, list[str]] = {}
    for _ in range(args.repeats):
        for name in variants:
            seconds, texts[name], tokens = run(name)
            times[name].append(seconds)
    helped.close()
    median = {name: statistics.median(t) for name, t in times.items()}
    differ = {name: sum(x != y for x, y in zip(texts["before"], texts[name])) for name in ("after", "helpers")}
    samples = len(texts["after"])
    labels = {"before": "before (DynamicCache, torch.sort top-p)", "after": "after (in-place cache, sort-free top-p)",
              "helpers": f"after, {args.cpu_processes} single-threaded processes"}
    print(f"{len(problems)} problems of {args.benchmark} x {n} samples, batch {args.batch_size}, {tokens} tokens, model {model}")
    print(tabulate([[labels[k], f"{median[k]:.1f}", f"{tokens / median[k]:.0f}", f"{median['before'] / median[k]:.2f}x"]
                    for k in variants], headers=["engine", "wall s (median)", "tokens/s", "speed-up"]))
    print(f"texts that differ from before's: {differ['after']} (after), {differ['helpers']} (helpers) of {samples}")
    checks = [differ["after"] == 0, differ["helpers"] == 0, median["after"] < median["before"],
              median["helpers"] < median["after"]]
    print(f"{sum(checks)} passed, {len(checks) - sum(checks)} failed "
          "(targets: identical samples, each variant faster than the one before it)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "model": model, "benchmark": args.benchmark, "problems": len(problems), "samples": samples,
            "tokens": tokens, "cpu_processes": args.cpu_processes, "seconds": times, "texts_differ": differ}, indent=2))
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
