"""The `palign` method: minimal sufficient prefix by batched binary search, then prefix alignment.

Per trace: split the teacher CoT into pieces, find the longest prefix that fits the
student's context (`PrefixFitter`), binary-search that range for the shortest prefix the
judge calls sufficient, then let the student continue from it and keep a correct
continuation (`align_plans`, shared with `fixed_trunc`). A correct judge rollout at the
chosen prefix is the student's own continuation already, so by default it is reused
instead of sampling a new one that might fail.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from harness.console import progress
from harness.errors import HarnessError, brief
from harness.methods import ADDED, MethodContext, MethodResult, Trace, register_method
from harness.registries import judge_names
from harness.toolkit.generation import method_tools
from harness.toolkit.prefix import (BEGIN_MARKER, END_MARKER, PROMPT_STYLES, PrefixFitter, Request, align_plans,
                                    check_prefix_params, continuation_prompt, make_plans, prefix_settings)
from harness.toolkit.splitter import UNITS
from palign.judges import PARSES, SELF_SAMPLINGS, JudgeQuery, RolloutJudge, make_judge, self_judge_sampling
from palign.search import FAILURE_POLICIES, batched_binary_search


@dataclass
class PAlignParams:
    judge: str = field(default="rollout", metadata={"help": "Sufficiency judge: rollout | self, or a plugin's "
                                                             "(the `harness.judges` registry)."})
    rollouts: int = field(default=4, metadata={"help": "rollout judge: continuations per judged prefix (k >= 1)."})
    threshold: float = field(default=0.5, metadata={"help": "rollout judge: fraction of correct continuations that makes a prefix sufficient (0 < threshold <= 1)."})
    samples: int = field(default=1, metadata={"help": "Continuations sampled per chosen prefix; the first correct one is kept."})
    failure_policy: str = field(default="keep_full", metadata={"help": f"No sufficient prefix: {' | '.join(FAILURE_POLICIES)} (keep_full = the paper; dropped when the whole CoT does not fit)."})
    reuse_judge_rollout: bool = field(default=True, metadata={"help": "rollout judge: reuse a correct rollout at the chosen prefix as the continuation."})
    markers: bool = field(default=True, metadata={"help": "Wrap the teacher prefix in begin/end markers in the target (paper)."})
    begin_marker: str = field(default=BEGIN_MARKER, metadata={"help": "Marker before the teacher prefix."})
    end_marker: str = field(default=END_MARKER, metadata={"help": "Marker after the teacher prefix."})
    prompt_style: str = field(default="prefill", metadata={"help": f"Continuation and rollout prompt: {' | '.join(PROMPT_STYLES)} (draft = the paper)."})
    unit: str = field(default="sentence", metadata={"help": f"Pieces the search walks over: {' | '.join(UNITS)}."})
    max_pieces: int | None = field(default=None, metadata={"help": "Merge a CoT's pieces into at most this many before searching."})
    max_prefix_tokens: int | None = field(default=None, metadata={"help": "Search only prefixes of at most this many student tokens (the context already bounds them)."})
    judge_parse: str = field(default="strict", metadata={"help": f"self judge: how a reply is read, {' | '.join(PARSES)} (strict: a bracketed or lone label, anything else unparseable and not enough; authors: enough when the reply contains [ENOUGH])", ADDED: True})
    judge_sampling: str = field(default="greedy", metadata={"help": f"self judge: {' | '.join(SELF_SAMPLINGS)} (generation_config: the student's own sampling defaults, as a plain model.generate call uses them)", ADDED: True})

    def __post_init__(self) -> None:
        judges = judge_names()
        if self.judge not in judges:
            raise HarnessError(f"method.params.judge must be one of {', '.join(judges)}, got {brief(self.judge)}")
        if self.rollouts < 1:
            raise HarnessError(f"method.params.rollouts must be at least 1, got {self.rollouts}")
        if not 0.0 < self.threshold <= 1.0:
            raise HarnessError(f"method.params.threshold must be in (0, 1], got {self.threshold}")
        if self.failure_policy not in FAILURE_POLICIES:
            raise HarnessError(f"method.params.failure_policy must be one of {', '.join(FAILURE_POLICIES)}, got {brief(self.failure_policy)}")
        if self.judge_parse not in PARSES:
            raise HarnessError(f"method.params.judge_parse must be one of {', '.join(PARSES)}, got {brief(self.judge_parse)}")
        if self.judge_sampling not in SELF_SAMPLINGS:
            raise HarnessError(f"method.params.judge_sampling must be one of {', '.join(SELF_SAMPLINGS)}, "
                               f"got {brief(self.judge_sampling)}")
        check_prefix_params(self)

    def repeated_samples(self) -> dict[str, int]:
        """Samples drawn per prompt: each judged prefix's rollouts (rollout judge) and each chosen prefix's continuations."""
        return {**({"rollouts": self.rollouts} if self.judge == "rollout" else {}), "samples": self.samples}


@register_method("palign", params=PAlignParams,
                 description="P-ALIGN: minimal sufficient teacher prefix (binary search) + student continuation.")
def palign(traces: list[Trace], params: PAlignParams, ctx: MethodContext) -> MethodResult:
    settings = prefix_settings(params)
    generator, grade = method_tools(ctx)
    tokenizer = generator.tokenizer
    judge = make_judge(params.judge, generator, instruction=ctx.instruction, enable_thinking=ctx.enable_thinking,
                       seed=ctx.seed, sampling=ctx.sampling, grade=grade, k=params.rollouts,
                       threshold=params.threshold, prompt_style=params.prompt_style, parse=params.judge_parse,
                       self_sampling=self_judge_sampling(params.judge_sampling, ctx.student, ctx.seed)
                       if params.judge == "self" else None)
    align_request = Request(lambda trace, prefix: continuation_prompt(tokenizer, trace, prefix, ctx.instruction,
                                                                      ctx.enable_thinking, params.prompt_style),
                            ctx.sampling.max_new_tokens)
    fitter = PrefixFitter(tokenizer, settings, instruction=ctx.instruction, requests=[align_request, judge.request()],
                          max_context=getattr(ctx.engine, "max_context", None), max_length=ctx.max_length,
                          continuation_tokens=ctx.sampling.max_new_tokens)

    plans = make_plans(traces, settings, graded=True)
    limits = [0 if p.reason else fitter.limit(p.trace, p.pieces) for p in plans]
    for plan, limit in zip(plans, limits):
        if limit == 0 and plan.reason is None:
            plan.reason = "prefix_over_context"
    searched = [i for i, p in enumerate(plans) if p.reason is None]

    def judge_round(batch: list[tuple[int, int]]) -> list[bool]:
        return judge([JudgeQuery(plans[i].trace, "".join(plans[i].pieces[:t]), t) for i, t in batch])

    max_rounds = max((math.ceil(math.log2(limits[i] + 1)) for i in searched), default=0)
    with progress() as bar:
        task = bar.add_task("palign: binary search rounds", total=max_rounds)
        report = batched_binary_search(searched, [limits[i] for i in searched], judge_round, "drop",
                                       on_round=lambda r, n: bar.update(task, completed=r))
        bar.update(task, completed=report.rounds)

    for i, result in zip(searched, report.results):
        plan = plans[i]
        if result.t is not None:
            plan.t = result.t
        elif params.failure_policy == "drop":
            plan.reason = "no_sufficient_prefix"
        elif limits[i] == len(plan.pieces):  # keep_full, as the paper: the whole CoT, which fits
            plan.t, plan.fallback = len(plan.pieces), True
        else:
            plan.reason = "fallback_over_context"
    reused = 0
    if params.reuse_judge_rollout and isinstance(judge, RolloutJudge):
        for plan in plans:
            if plan.t is not None:
                plan.continuation = judge.correct.get((plan.trace.id, plan.t))
                reused += plan.continuation is not None

    aligned = align_plans(plans, settings, generator, grade, instruction=ctx.instruction,
                          enable_thinking=ctx.enable_thinking, sampling=ctx.sampling, seed=ctx.seed,
                          max_length=ctx.max_length)
    stats = {
        **aligned.stats,
        "searched_pieces_mean": statistics.fmean(limits[i] for i in searched) if searched else None,
        # Where the search cut each trace it found a sufficient prefix for: id -> [t, pieces].
        "chosen_cuts": {plans[i].trace.id: [r.t, len(plans[i].pieces)] for i, r in zip(searched, report.results)
                        if r.t is not None},
        "reused_judge_rollouts": reused,
        **report.stats(),
        **judge.stats(),
        "generated_tokens": generator.generated_tokens,
    }
    return MethodResult(aligned.examples, stats)
