"""`fixed_trunc`: cut the teacher CoT at a fixed fraction of its sentences.

By default the student then continues from the cut exactly as in P-ALIGN (same prompt,
same correctness filter, same target format), so the two differ only in where the cut
falls. `variant: prefix_only` trains on the cut prefix alone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.eval.prompts import user_message
from harness.methods import MethodContext, MethodResult, SFTExample, Trace, register_method
from harness.toolkit.prefix import BEGIN_MARKER, END_MARKER, AlignSettings
from harness.toolkit.generation import method_tools
from palign.method import align_and_collect, ratio_stats, split_trace

VARIANTS = ("align", "prefix_only")


@dataclass
class FixedTruncParams:
    ratio: float = field(default=0.5, metadata={"help": "Fraction of the CoT's sentences kept (0 < ratio <= 1)."})
    variant: str = field(default="align", metadata={"help": "align (student continues, correct ones kept) | prefix_only."})
    samples: int = field(default=1, metadata={"help": "align: continuations sampled per prefix; the first correct one is kept."})
    markers: bool = field(default=True, metadata={"help": "align: wrap the teacher prefix in markers (as palign)."})
    begin_marker: str = field(default=BEGIN_MARKER, metadata={"help": "Marker before the teacher prefix."})
    end_marker: str = field(default=END_MARKER, metadata={"help": "Marker after the teacher prefix."})
    prompt_style: str = field(default="prefill", metadata={"help": "align: prefill | draft (as palign)."})
    max_sentences: int | None = field(default=None, metadata={"help": "Merge sentences into at most this many pieces first (as palign)."})


def cut_point(m: int, ratio: float) -> int:
    """Number of pieces kept: round(ratio * m), at least one."""
    return min(m, max(1, round(ratio * m)))


@register_method("fixed_trunc", params=FixedTruncParams,
                 description="Fixed-ratio teacher prefix, then the same student continuation and filter as palign.")
def fixed_trunc(traces: list[Trace], params: FixedTruncParams, ctx: MethodContext) -> MethodResult:
    if not 0.0 < params.ratio <= 1.0:
        raise HarnessError(f"fixed_trunc: ratio must be in (0, 1], got {params.ratio}")
    if params.variant not in VARIANTS:
        raise HarnessError(f"fixed_trunc: unknown variant {params.variant!r} (known: {', '.join(VARIANTS)})")
    split = [(trace, split_trace(trace, params.max_sentences)) for trace in traces]
    chosen = [(trace, pieces, cut_point(len(pieces), params.ratio)) for trace, pieces in split if pieces]
    stats: dict = {"traces": len(traces), "sentences_mean": statistics.fmean(len(p) for _, p in split) if split else None}
    if params.variant == "prefix_only":
        examples = [SFTExample(t.id, user_message(t.problem, ctx.instruction), "".join(p[:cut]).rstrip()) for t, p, cut in chosen]
        stats.update(kept=len(examples), dropped={"empty_cot": len(traces) - len(chosen)},
                     **ratio_stats([cut / len(p) for _, p, cut in chosen]))
        return MethodResult(examples, stats)
    generator, grader = method_tools(ctx)
    settings = AlignSettings(params.samples, params.markers, params.begin_marker, params.end_marker, params.prompt_style)
    examples, align_stats = align_and_collect(chosen, settings, ctx, generator, grader)
    stats.update(kept=len(examples),
                 dropped={"empty_cot": len(traces) - len(chosen), "no_correct_continuation": align_stats.pop("no_correct_continuation")},
                 **align_stats, generated_tokens=generator.generated_tokens)
    return MethodResult(examples, stats)
