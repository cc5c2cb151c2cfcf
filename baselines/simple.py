"""Baselines that need no generation: plain SFT on the teacher's long or short CoT, and the `none` control."""

from __future__ import annotations

import re

from harness.eval.prompts import user_message
from harness.methods import MethodContext, MethodResult, SFTExample, Trace, register_method

_BOXED = re.compile(r"\\boxed\s*\{")


def with_boxed_answer(text: str, answer: str) -> str:
    """The text as it is when it already states a boxed answer, else with one appended."""
    if _BOXED.search(text):
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


@register_method("full_cot", description="SFT on the teacher's whole long CoT, ending with the boxed answer.")
def full_cot(traces: list[Trace], params, ctx: MethodContext) -> MethodResult:
    examples = _examples(traces, ctx, "long_cot")
    return MethodResult(examples, _stats(traces, examples))


@register_method("short_cot", description="SFT on the teacher's short solution (its final write-up).")
def short_cot(traces: list[Trace], params, ctx: MethodContext) -> MethodResult:
    examples = _examples(traces, ctx, "short_cot")
    return MethodResult(examples, _stats(traces, examples))


@register_method("none", trains=False, description="Control: the untrained student, evaluated as it is.")
def none(traces: list[Trace], params, ctx: MethodContext) -> MethodResult:
    return MethodResult([], {"traces": len(traces), "kept": 0, "dropped": {}})
