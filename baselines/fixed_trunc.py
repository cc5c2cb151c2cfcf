"""`fixed_trunc`: cut the teacher CoT at a fixed fraction of its pieces.

It runs P-ALIGN's prefix path without the search (`harness.toolkit.prefix`): the same
pieces, the same fit to the student's context, the same continuation prompt, correctness
filter, target format and drop reasons, so the two differ only in where the cut falls.
A cut longer than what fits is dropped and counted (`cut_over_context`), never clipped:
clipping would make the ratio mean something else on every trace. `variant: prefix_only`
trains on the cut prefix alone. `harness run --method all` runs ratios 0.25, 0.5 and 0.75.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import HarnessError, brief
from harness.eval.prompts import user_message
from harness.methods import MethodContext, MethodResult, SFTExample, Trace, register_method
from harness.toolkit.generation import method_tools
from harness.toolkit.prefix import (BEGIN_MARKER, END_MARKER, PROMPT_STYLES, PrefixFitter, Request, align_plans,
                                    check_prefix_params, continuation_prompt, make_plans, plan_stats, prefix_settings)
from harness.toolkit.splitter import UNITS

VARIANTS = ("align", "prefix_only")


@dataclass
class FixedTruncParams:
    ratio: float = field(default=0.5, metadata={"help": "Fraction of the CoT's pieces kept (0 < ratio <= 1)."})
    variant: str = field(default="align", metadata={"help": f"{' | '.join(VARIANTS)}: student continues (correct ones kept), or the prefix alone."})
    samples: int = field(default=1, metadata={"help": "align: continuations sampled per prefix; the first correct one is kept."})
    markers: bool = field(default=True, metadata={"help": "align: wrap the teacher prefix in markers (as palign)."})
    begin_marker: str = field(default=BEGIN_MARKER, metadata={"help": "Marker before the teacher prefix."})
    end_marker: str = field(default=END_MARKER, metadata={"help": "Marker after the teacher prefix."})
    prompt_style: str = field(default="prefill", metadata={"help": f"align: {' | '.join(PROMPT_STYLES)} (as palign)."})
    unit: str = field(default="sentence", metadata={"help": f"Pieces the ratio counts: {' | '.join(UNITS)} (as palign)."})
    max_pieces: int | None = field(default=None, metadata={"help": "Merge pieces into at most this many first (as palign)."})
    max_prefix_tokens: int | None = field(default=None, metadata={"help": "Cuts longer than this many student tokens are dropped (as palign's search cap)."})

    def __post_init__(self) -> None:
        if not 0.0 < self.ratio <= 1.0:
            raise HarnessError(f"method.params.ratio must be in (0, 1], got {self.ratio}")
        if self.variant not in VARIANTS:
            raise HarnessError(f"method.params.variant must be one of {', '.join(VARIANTS)}, got {brief(self.variant)}")
        check_prefix_params(self)

    def repeated_samples(self) -> dict[str, int]:
        """Samples drawn per prompt: the continuations of each cut prefix (align only)."""
        return {"samples": self.samples} if self.variant == "align" else {}


def cut_point(m: int, ratio: float) -> int:
    """Number of pieces kept: round(ratio * m), at least one."""
    return min(m, max(1, round(ratio * m)))


@register_method("fixed_trunc", params=FixedTruncParams, variants=({"ratio": 0.25}, {"ratio": 0.5}, {"ratio": 0.75}),
                 description="Fixed-ratio teacher prefix, then the same student continuation and filter as palign.")
def fixed_trunc(traces: list[Trace], params: FixedTruncParams, ctx: MethodContext) -> MethodResult:
    settings = prefix_settings(params)
    generator, grade = method_tools(ctx)
    tokenizer = generator.tokenizer
    aligning = params.variant == "align"
    requests = [Request(lambda trace, prefix: continuation_prompt(tokenizer, trace, prefix, ctx.instruction,
                                                                  ctx.enable_thinking, params.prompt_style),
                        ctx.sampling.max_new_tokens)] if aligning else []
    fitter = PrefixFitter(tokenizer, settings, instruction=ctx.instruction, requests=requests,
                          max_context=getattr(ctx.engine, "max_context", None), max_length=ctx.max_length,
                          continuation_tokens=ctx.sampling.max_new_tokens if aligning else 0)
    plans = make_plans(traces, settings, graded=aligning)
    for plan in plans:
        if plan.reason is None:
            cut = cut_point(len(plan.pieces), params.ratio)
            if cut <= fitter.limit(plan.trace, plan.pieces[:cut]):
                plan.t = cut
            else:
                plan.reason = "cut_over_context"
    if not aligning:
        kept = [p for p in plans if p.t is not None]
        examples = [SFTExample(p.trace.id, user_message(p.trace.problem, ctx.instruction), p.prefix.rstrip()) for p in kept]
        return MethodResult(examples, plan_stats(plans, kept))
    aligned = align_plans(plans, settings, generator, grade, instruction=ctx.instruction,
                          enable_thinking=ctx.enable_thinking, sampling=ctx.sampling, seed=ctx.seed,
                          max_length=ctx.max_length)
    return MethodResult(aligned.examples, {**aligned.stats, "generated_tokens": generator.generated_tokens})
