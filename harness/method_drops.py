"""Why a method's trace yields no training example, and which settings change that.

Methods count the traces they drop by reason in `stats["dropped"]`: the prefix path of
`palign` and `fixed_trunc` (`harness.toolkit.prefix`) and the baselines alike. When a method
keeps nothing, `harness run` stops with one line (`no_examples_message`) that gives, for each
reason, how many traces it took, what it means and the settings that change it, instead of
the method's raw statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import brief, clip

_CONTEXT = ("the student's context, engine.max_model_len or world.context_length for a synth: student, "
            "and train.max_length")

# reason -> (what it means, the settings that change it)
DROP_REASONS: dict[str, tuple[str, str]] = {
    "empty_cot": ("the teacher CoT is empty", "check the teacher data, teacher.source and teacher.dataset"),
    "no_gold_answer": (
        "the teacher row has no checkable gold answer, and this method keeps only continuations that reach it",
        "teacher.keep_uncheckable keeps such s1K rows for the methods that need no answer (full_cot, short_cot, "
        "mix_cot, fixed_trunc's prefix_only); the others drop them here"),
    "prefix_over_context": (
        "not even the first piece of the teacher CoT fits",
        f"the prompt, that piece and method.sampling.max_new_tokens new tokens (one under context) must fit "
        f"{_CONTEXT}; the rollout judge asks for as many new tokens, the self judge for 256; lower "
        "method.sampling.max_new_tokens (or set it to context) or raise "
        "the context or train.max_length; method.params.unit and max_pieces set the piece size, max_prefix_tokens "
        "caps the prefix"),
    "cut_over_context": (
        "the fixed cut is longer than what fits",
        f"the cut and method.sampling.max_new_tokens new tokens must fit {_CONTEXT}; lower method.params.ratio or "
        "method.sampling.max_new_tokens, or raise the context or train.max_length; method.params.max_prefix_tokens "
        "caps the cut"),
    "fallback_over_context": (
        "no prefix was judged sufficient and the whole CoT does not fit",
        "change method.params.failure_policy, the judge (method.params.judge, rollouts, threshold), or the fit: "
        f"method.sampling.max_new_tokens new tokens must fit {_CONTEXT}"),
    "no_sufficient_prefix": (
        "no prefix was judged sufficient and method.params.failure_policy is drop",
        "failure_policy=keep_full keeps the whole CoT; method.params.judge, rollouts and threshold decide sufficiency"),
    "no_correct_continuation": (
        "no continuation reached the gold answer with its own boxed answer",
        "raise method.params.samples or method.sampling.max_new_tokens, or use a stronger student (student.model)"),
    "example_over_max_length": (
        "prompt + target came out longer than train.max_length",
        "raise train.max_length or lower method.sampling.max_new_tokens"),
    "empty_target": ("the teacher text the target is made of is empty",
                     "check the teacher data, teacher.source and teacher.dataset"),
}

STATS_CHARS = 300  # the raw statistics, when a method reports no drop reasons


def no_examples_message(method: str, traces: int, stats: Mapping[str, Any]) -> str:
    """One line: the method kept nothing of `traces` teacher traces, and why, by drop reason."""
    dropped = stats.get("dropped")
    if isinstance(dropped, Mapping) and dropped:
        why = " | ".join(_explain(str(reason), count) for reason, count in dropped.items())
    else:
        scalars = ", ".join(f"{k}={brief(v, 40)}" for k, v in stats.items() if not isinstance(v, (list, dict)))
        why = f"stats: {clip(scalars, STATS_CHARS)}" if scalars else "it reported no statistics"
    return f"method {method!r} produced no training examples from {traces} teacher traces: {why}"


def _explain(reason: str, count: Any) -> str:
    known = DROP_REASONS.get(reason)
    if known is None:  # a plugin's own reason: its name is all there is to say
        return f"{brief(count)} dropped as {brief(reason, 40)}"
    what, fix = known
    return f"{brief(count)} dropped as {reason}, {what}: {fix}"
