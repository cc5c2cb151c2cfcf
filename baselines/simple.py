"""Baselines that need no generation: plain SFT on the teacher's long or short CoT, and the `none` control.

None of them checks an answer: a trace without a gold answer (an s1K row kept by
`teacher.keep_uncheckable`) is trained on as its text stands, with no box appended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.errors import HarnessError, brief
from harness.eval.prompts import user_message
from harness.methods import ADDED, MethodContext, MethodResult, SFTExample, Trace, register_method

_BOXED = re.compile(r"\\boxed\s*\{")
# full_cot's targets: the thinking trace with the gold answer boxed after it (ours, the default), or s1's
# layout for s1K-1.1 (simplescaling/s1, data/tokenization.py lines 26 and 31): the thinking trace, then the
# teacher's attempt, each after its delimiter, the attempt led by "Answer: " unless it holds one.
FULL_COT_TARGETS = ("thinking_boxed", "s1")
S1_THINK, S1_ANSWER = "<|im_start|>think\n", "\n<|im_start|>answer\n"


@dataclass
class FullCotParams:
    target: str = field(default="thinking_boxed", metadata={
        "help": f"{' | '.join(FULL_COT_TARGETS)}: the thinking trace with the gold answer boxed after it when it holds "
                "none, or s1's layout: the thinking trace, then the teacher's attempt (short CoT).", ADDED: True})

    def __post_init__(self) -> None:
        if self.target not in FULL_COT_TARGETS:
            raise HarnessError(f"method.params.target must be one of {', '.join(FULL_COT_TARGETS)}, "
                               f"got {brief(self.target)}")


def with_boxed_answer(text: str, answer: str) -> str:
    """The text as it is when it already states a boxed answer or there is no answer to box, else with one appended."""
    if _BOXED.search(text) or not answer.strip():
        return text
    sep = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{sep}The final answer is \\boxed{{{answer}}}."


def _examples(traces: list[Trace], ctx: MethodContext, field_name: str) -> list[SFTExample]:
    out = []
    for trace in traces:
        text = getattr(trace, field_name)
        if text.strip():
            out.append(SFTExample(trace.id, user_message(trace.problem, ctx.instruction), with_boxed_answer(text, trace.answer)))
    return out


def _stats(traces: list[Trace], examples: list[SFTExample]) -> dict:
    empty = len(traces) - len(examples)
    return {"traces": len(traces), "kept": len(examples), "dropped": {"empty_target": empty} if empty else {},
            "target_chars_mean": sum(len(e.completion) for e in examples) / len(examples) if examples else None}


def s1_target(trace: Trace) -> str:
    """The thinking trace, then the attempt, laid out as s1 trains on s1K-1.1."""
    attempt = trace.short_cot.strip()
    if "Answer:" not in attempt:
        attempt = "Answer: " + attempt
    return S1_THINK + trace.long_cot.strip() + S1_ANSWER + attempt


@register_method("full_cot", params=FullCotParams,
                 description="SFT on the teacher's whole long CoT, ending with the boxed answer "
                             "(target=s1: the thinking trace, then the attempt).")
def full_cot(traces: list[Trace], params: FullCotParams | None, ctx: MethodContext) -> MethodResult:
    if params is None or params.target == "thinking_boxed":
        examples = _examples(traces, ctx, "long_cot")
    else:
        examples = [SFTExample(t.id, user_message(t.problem, ctx.instruction), s1_target(t))
                    for t in traces if t.long_cot.strip() and t.short_cot.strip()]
    return MethodResult(examples, _stats(traces, examples))


@register_method("short_cot", description="SFT on the teacher's short solution (its final write-up).")
def short_cot(traces: list[Trace], params, ctx: MethodContext) -> MethodResult:
    examples = _examples(traces, ctx, "short_cot")
    return MethodResult(examples, _stats(traces, examples))


@register_method("none", trains=False, description="Control: the untrained student, evaluated as it is.")
def none(traces: list[Trace], params, ctx: MethodContext) -> MethodResult:
    return MethodResult([], {"traces": len(traces), "kept": 0, "dropped": {}})
