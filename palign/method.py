"""The `palign` method: minimal sufficient prefix by batched binary search, then prefix alignment."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from harness.console import progress
from harness.errors import HarnessError
from harness.methods import MethodContext, MethodResult, Trace, register_method
from harness.toolkit.prefix import BEGIN_MARKER, END_MARKER, PROMPT_STYLES, AlignSettings, align
from harness.toolkit.generation import method_tools
from palign.judges import JUDGES, JudgeQuery, make_judge
from palign.search import FAILURE_POLICIES, batched_binary_search
from harness.toolkit.splitter import chunk_sentences, split_sentences


@dataclass
class PAlignParams:
    judge: str = field(default="rollout", metadata={"help": f"Sufficiency judge: {' | '.join(JUDGES)}."})
    rollouts: int = field(default=4, metadata={"help": "rollout judge: continuations per judged prefix (k)."})
    threshold: float = field(default=0.5, metadata={"help": "rollout judge: fraction of correct continuations that makes a prefix sufficient."})
    samples: int = field(default=1, metadata={"help": "Continuations sampled per chosen prefix; the first correct one is kept."})
    failure_policy: str = field(default="keep_full", metadata={"help": f"No sufficient prefix: {' | '.join(FAILURE_POLICIES)}."})
    markers: bool = field(default=True, metadata={"help": "Wrap the teacher prefix in begin/end markers in the target (paper)."})
    begin_marker: str = field(default=BEGIN_MARKER, metadata={"help": "Marker before the teacher prefix."})
    end_marker: str = field(default=END_MARKER, metadata={"help": "Marker after the teacher prefix."})
    prompt_style: str = field(default="prefill", metadata={"help": f"Continuation prompt: {' | '.join(PROMPT_STYLES)}."})
    max_sentences: int | None = field(default=None, metadata={"help": "Merge a CoT's sentences into at most this many pieces before searching."})
    max_prefix_tokens: int | None = field(default=None, metadata={"help": "Search only prefixes of at most this many student tokens (the student's context is finite)."})


def split_trace(trace: Trace, max_pieces: int | None) -> list[str]:
    return chunk_sentences(split_sentences(trace.long_cot), max_pieces)


def searchable(pieces: list[str], tokenizer, max_tokens: int | None) -> int:
    """How many leading pieces fit in `max_tokens` student tokens (at least one)."""
    if not max_tokens or not pieces:
        return len(pieces)
    total = 0
    for i, ids in enumerate(tokenizer(pieces, add_special_tokens=False)["input_ids"]):
        total += len(ids)
        if total > max_tokens:
            return max(1, i)
    return len(pieces)


def ratio_stats(ratios: list[float]) -> dict:
    return {
        "kept_prefix_ratios": [round(r, 4) for r in ratios],
        "kept_prefix_ratio_mean": statistics.fmean(ratios) if ratios else None,
        "kept_prefix_ratio_median": statistics.median(ratios) if ratios else None,
    }


def align_and_collect(chosen: list[tuple[Trace, list[str], int]], settings: AlignSettings, ctx: MethodContext,
                      generator, grader) -> tuple[list, dict]:
    """Align each (trace, pieces, t) and return the examples and the alignment statistics."""
    items = [(trace, "".join(pieces[:t])) for trace, pieces, t in chosen]
    aligned = align(items, settings, generator, grader, instruction=ctx.instruction,
                    enable_thinking=ctx.enable_thinking, sampling=ctx.sampling, seed=ctx.seed)
    examples, ratios = [], []
    for (trace, pieces, t), result in zip(chosen, aligned):
        if result.example is not None:
            examples.append(result.example)
            ratios.append(t / len(pieces))
    stats = {"no_correct_continuation": len(chosen) - len(examples), **ratio_stats(ratios)}
    return examples, stats


@register_method("palign", params=PAlignParams,
                 description="P-ALIGN: minimal sufficient teacher prefix (binary search) + student continuation.")
def palign(traces: list[Trace], params: PAlignParams, ctx: MethodContext) -> MethodResult:
    if params.prompt_style not in PROMPT_STYLES:
        raise HarnessError(f"unknown prompt style {params.prompt_style!r} (known: {', '.join(PROMPT_STYLES)})")
    generator, grader = method_tools(ctx)
    judge = make_judge(params.judge, generator, instruction=ctx.instruction, enable_thinking=ctx.enable_thinking,
                       seed=ctx.seed, sampling=ctx.sampling, grader=grader, k=params.rollouts,
                       threshold=params.threshold)
    pieces = [split_trace(t, params.max_sentences) for t in traces]

    def judge_round(batch: list[tuple[int, int]]) -> list[bool]:
        return judge([JudgeQuery(traces[i], "".join(pieces[i][:t]), t) for i, t in batch])

    limits = [searchable(p, generator.tokenizer, params.max_prefix_tokens) for p in pieces]
    max_rounds = max((math.ceil(math.log2(m + 1)) for m in limits), default=0)
    with progress() as bar:
        task = bar.add_task("palign: binary search rounds", total=max_rounds)
        report = batched_binary_search(list(range(len(traces))), limits, judge_round,
                                       params.failure_policy, on_round=lambda r, n: bar.update(task, completed=r))
        bar.update(task, completed=report.rounds)
    # A fallback keeps the whole CoT, beyond the searched range if it was capped.
    chosen = [(traces[i], pieces[i], len(pieces[i]) if r.fallback else r.t)
              for i, r in enumerate(report.results) if r.t is not None]
    settings = AlignSettings(params.samples, params.markers, params.begin_marker, params.end_marker, params.prompt_style)
    examples, align_stats = align_and_collect(chosen, settings, ctx, generator, grader)
    dropped = {"no_sufficient_prefix": len(traces) - len(chosen), "no_correct_continuation": align_stats.pop("no_correct_continuation")}
    stats = {
        "traces": len(traces),
        "kept": len(examples),
        "dropped": dropped,
        "full_cot_fallbacks": sum(1 for r in report.results if r.fallback and r.t is not None),
        "sentences_mean": statistics.fmean(len(p) for p in pieces) if pieces else None,
        "searched_sentences_mean": statistics.fmean(limits) if limits else None,
        **align_stats,
        **report.stats(),
        **judge.stats(),
        "generated_tokens": generator.generated_tokens,
    }
    return MethodResult(examples, stats)
