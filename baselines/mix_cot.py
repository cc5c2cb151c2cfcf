"""`mix_cot`: Mix Distillation (Li et al. 2025, "Small Models Struggle to Learn from Strong
Reasoners", arXiv 2502.12143).

Small students learn better from short CoT than from a strong teacher's long CoT; the
paper's remedy trains on a mix of both. Here every teacher trace gives one example, its
long CoT for a seeded `long_fraction` of the traces and its short solution for the rest.
The default, 0.2 (one long example for every four short ones), is how we read the paper's
Mix-Long setting (see ../shared/docs/PALIGN.md and docs/methods.md); the paper does not
publish a ratio parameter under this name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.eval.prompts import user_message
from harness.methods import MethodContext, MethodResult, SFTExample, Trace, register_method
from baselines.simple import with_boxed_answer


@dataclass
class MixCotParams:
    long_fraction: float = field(default=0.2, metadata={"help": "Share of examples that use the long CoT (0.2 = 1 long : 4 short, Mix-Long as we read Li et al. 2025)."})

    def __post_init__(self) -> None:
        if not 0.0 <= self.long_fraction <= 1.0:
            raise HarnessError(f"method.params.long_fraction must be in [0, 1], got {self.long_fraction}")


@register_method("mix_cot", params=MixCotParams,
                 description="Mix distillation (Li et al. 2025): long and short CoT mixed, 1 long : 4 short by default.")
def mix_cot(traces: list[Trace], params: MixCotParams, ctx: MethodContext) -> MethodResult:
    usable = [t for t in traces if t.long_cot.strip() and t.short_cot.strip()]
    # Seeded per run seed, so seeds differ in which problems are shown long, like any sampling.
    chosen = set(random.Random(f"mix_cot/{ctx.seed}").sample(range(len(usable)), round(params.long_fraction * len(usable))))
    examples = [
        SFTExample(t.id, user_message(t.problem, ctx.instruction),
                   with_boxed_answer(t.long_cot if i in chosen else t.short_cot, t.answer))
        for i, t in enumerate(usable)
    ]
    stats = {"traces": len(traces), "kept": len(examples), "long_examples": len(chosen),
             "short_examples": len(examples) - len(chosen),
             "dropped": {"empty_target": len(traces) - len(usable)} if len(usable) < len(traces) else {}}
    return MethodResult(examples, stats)
