"""P-ALIGN search: the batched binary search against one trace at a time, same judge, same traces.

The authors' code searches each teacher CoT on its own: every binary-search step is one
judge query, so a batch of N traces costs N x ceil(log2(m + 1)) separate generations. The
harness advances all traces together, so each round is one batched generation. Both modes
here use the same student, the same judge settings (the `synthetic` preset's palign
parameters) and the same persistent grader pool, so the ratio measures batching alone.

    python bench/palign_search.py [--traces 200] [--judge rollout|self] [--model DIR] [--store DIR]

Without --model the synthetic student is built (or reused) in the store: about 4 minutes
on 2 CPU cores the first time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import machine, student  # noqa: E402
from tabulate import tabulate  # noqa: E402

from harness.config import resolve_run_config  # noqa: E402
from harness.engines import load_engine  # noqa: E402
from harness.eval.grading import Grader  # noqa: E402
from harness.methods import Trace, get_method  # noqa: E402
from harness.synth.teacher import synth_traces  # noqa: E402
from harness.toolkit.generation import CachedGenerator  # noqa: E402
from harness.toolkit.prefix import PrefixFitter, Request, continuation_prompt, prefix_settings  # noqa: E402
from harness.toolkit.splitter import split_pieces  # noqa: E402
from palign.judges import JudgeQuery, make_judge  # noqa: E402
from palign.search import batched_binary_search  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--traces", type=int, default=200, help="teacher traces searched (default 200, the synthetic preset's teacher size)")
    p.add_argument("--judge", choices=("rollout", "self"), default="rollout")
    p.add_argument("--model", help="student model folder (default: the synthetic world's synth:tiny)")
    p.add_argument("--store", help="run store for the synthetic student (default $HARNESS_STORE)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    return p.parse_args()


def search(traces, pieces, limits, judge, policy: str, one_at_a_time: bool):
    """Run the search; returns (chosen t per trace, judge calls per trace, generate calls, seconds)."""

    def judge_round(batch):
        return judge([JudgeQuery(traces[i], "".join(pieces[i][:t]), t) for i, t in batch])

    start = time.perf_counter()
    if one_at_a_time:
        results = [batched_binary_search([i], [limits[i]], judge_round, policy).results[0] for i in range(len(traces))]
    else:
        results = batched_binary_search(list(range(len(traces))), limits, judge_round, policy).results
    seconds = time.perf_counter() - start
    return [r.t for r in results], [r.calls for r in results], judge.calls, seconds


def main() -> int:
    args = parse_args()
    cfg = resolve_run_config("synthetic", overrides=[{"method": {"params": {"judge": args.judge}}}])
    model = student(args.model, args.store)
    params = get_method("palign").parse_params(cfg.method.params)
    traces = [Trace(**r) for r in synth_traces(cfg.world, args.traces)]
    engine = load_engine(model, cfg.engine)
    sampling = replace(cfg.method.sampling, seed=cfg.seed)
    pieces = [split_pieces(t.long_cot, params.unit, params.max_pieces) for t in traces]

    with Grader(cfg.eval.grader_workers, cfg.eval.grader_timeout) as pool:
        def grade(golds: list[str], outputs: list[str]) -> list[bool]:
            return [g.outcome == "correct" for g in pool.grade(golds, outputs, require_box=True)]  # as method_tools

        def fresh_judge():
            # No cache shared between the two modes: each generates everything it judges.
            return make_judge(params.judge, CachedGenerator(engine, None),
                              instruction=cfg.eval.instruction, enable_thinking=None, seed=cfg.seed,
                              sampling=sampling, grade=grade, k=params.rollouts, threshold=params.threshold,
                              prompt_style=params.prompt_style)

        # The searchable range of each trace, sized to the context exactly as the method does.
        align = Request(lambda trace, prefix: continuation_prompt(engine.tokenizer, trace, prefix, cfg.eval.instruction,
                                                                  None, params.prompt_style), sampling.max_new_tokens)
        fitter = PrefixFitter(engine.tokenizer, prefix_settings(params), instruction=cfg.eval.instruction,
                              requests=[align, fresh_judge().request()], max_context=getattr(engine, "max_context", None),
                              max_length=cfg.train.max_length, continuation_tokens=sampling.max_new_tokens)
        keep = [i for i, t in enumerate(traces) if fitter.limit(t, pieces[i]) > 0]
        traces, pieces = [traces[i] for i in keep], [pieces[i] for i in keep]
        limits = [fitter.limit(t, p) for t, p in zip(traces, pieces)]

        # Warm-up (first-call costs: allocator, grader workers) outside both timings.
        warm = fresh_judge()
        warm([JudgeQuery(traces[0], pieces[0][0], 1)])
        batched = search(traces, pieces, limits, fresh_judge(), params.failure_policy, one_at_a_time=False)
        single = search(traces, pieces, limits, fresh_judge(), params.failure_policy, one_at_a_time=True)

    same = batched[0] == single[0]
    differing = sum(a != b for a, b in zip(batched[0], single[0]))
    rows = []
    for name, (ts, calls, gen_calls, secs) in (("batched (harness)", batched), ("one trace at a time", single)):
        rows.append([name, f"{secs:.1f}", gen_calls, f"{sum(calls) / len(calls):.2f}", max(calls), f"{len(ts) / secs:.2f}"])
    ratio = single[3] / batched[3]
    print(f"P-ALIGN search, {args.judge} judge (k={params.rollouts}), {len(traces)} synthetic teacher traces, "
          f"searched pieces mean {sum(limits) / len(limits):.1f}, student {model}")
    print(tabulate(rows, headers=["mode", "wall s", "generate calls", "judge queries/trace", "max/trace", "traces/s"]))
    print(f"speed-up: {ratio:.1f}x (target >= 5x); same prefixes: {same} ({differing} of {len(traces)} differ)")
    figures = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "judge": args.judge, "rollouts": params.rollouts, "traces": len(traces), "model": model,
        "batched_seconds": batched[3], "single_seconds": single[3], "speedup": ratio,
        "batched_generate_calls": batched[2], "single_generate_calls": single[2],
        "judge_queries_per_trace": sum(batched[1]) / len(traces), "same_prefixes": same, "differing": differing,
        "prefixes": batched[0],
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    print(f"{int(same and ratio >= 5)} passed, {int(not (same and ratio >= 5))} failed")
    return 0 if same and ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
