"""The prefix path shared by `palign` and `fixed_trunc`: a teacher prefix, the student's own
continuation, and only correct continuations kept.

A method decides where each trace's prefix ends (P-ALIGN by a judged binary search,
fixed_trunc at a fixed ratio); everything else happens here, identically for both:

1. `PrefixFitter` says how many leading pieces of a trace fit: the continuation request
   (prompt, prefix and `max_new_tokens`) within the student's context, and the training
   example (prompt, markers, prefix and a continuation of `max_new_tokens`) within
   `train.max_length`. A prefix that does not fit is never sent to an engine. Under
   `max_new_tokens: context` the continuation takes whatever the prompt leaves of the
   context, so the prefix may take all of it but one token.
2. `align_plans` lets the student continue every planned prefix in one batched call,
   grades each continuation alone (it must hold its own closed `\\boxed{}` answer; an answer
   in the teacher's prefix never counts) and keeps the first correct one.
3. Every trace that yields no example is counted under one reason in `stats["dropped"]`
   (the reasons, and the settings that change each, are `harness.method_drops`).

The training target is the teacher prefix, verbatim, then the student's continuation,
optionally wrapped in the paper's markers: `<Begin_of_Prefix>` prefix `<End_of_Prefix>` continuation.

Two prompt styles for the continuation (and for the rollout judge, which uses the same one):
- `prefill`: the standard prompt with the assistant turn prefilled by the prefix, so the
  student simply keeps writing; for students that cannot follow instructions.
- `draft`: the paper's style: the prefix is shown in the user turn as a draft and the
  student is asked to continue from it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.config import SamplingConfig
from harness.engines.base import GenerationRequest, reserved_tokens
from harness.errors import HarnessError, brief
from harness.eval.prompts import render_prompt, user_message
from harness.method_drops import DROP_REASONS
from harness.methods import SFTExample, Trace
from harness.toolkit.splitter import UNITS, split_pieces

BEGIN_MARKER = "<Begin_of_Prefix>"
END_MARKER = "<End_of_Prefix>"
PROMPT_STYLES = ("prefill", "draft")

DRAFT_REQUEST = (
    "Here is a draft of the beginning of a solution:\n{prefix}\n\n"
    "Continue from where the draft stops, reason step by step, and put your final answer within \\boxed{{}}."
)



@dataclass
class PrefixSettings:
    """What the prefix path needs from a method's parameters."""

    samples: int = 1
    markers: bool = True
    begin_marker: str = BEGIN_MARKER
    end_marker: str = END_MARKER
    prompt_style: str = "prefill"
    unit: str = "sentence"
    max_pieces: int | None = None
    max_prefix_tokens: int | None = None

    def __post_init__(self) -> None:
        check_prefix_params(self)


def check_prefix_params(p: Any) -> None:
    """Range checks shared by every method's parameter dataclass (run when the config resolves)."""
    if p.samples < 1:
        raise HarnessError(f"method.params.samples must be at least 1, got {p.samples}")
    if p.prompt_style not in PROMPT_STYLES:
        raise HarnessError(f"method.params.prompt_style must be one of {', '.join(PROMPT_STYLES)}, got {brief(p.prompt_style)}")
    if p.unit not in UNITS:
        raise HarnessError(f"method.params.unit must be one of {', '.join(UNITS)}, got {brief(p.unit)}")
    if p.max_pieces is not None and p.max_pieces < 1:
        raise HarnessError(f"method.params.max_pieces must be at least 1 (or unset), got {p.max_pieces}")
    if p.max_prefix_tokens is not None and p.max_prefix_tokens < 1:
        raise HarnessError(f"method.params.max_prefix_tokens must be at least 1 (or unset), got {p.max_prefix_tokens}")


def prefix_settings(params: Any) -> PrefixSettings:
    """The PrefixSettings fields of a method's parameter dataclass."""
    return PrefixSettings(**{f: getattr(params, f) for f in PrefixSettings.__dataclass_fields__})


def build_target(prefix: str, continuation: str, settings: PrefixSettings) -> str:
    """Teacher prefix (verbatim, trailing whitespace aside), then the student's continuation."""
    prefix = prefix.rstrip()
    if settings.markers:
        return f"{settings.begin_marker}{prefix}{settings.end_marker}{continuation}"
    return prefix + ("" if continuation[:1].isspace() else " ") + continuation


def continuation_prompt(tokenizer: Any, trace: Trace, prefix: str, instruction: str, enable_thinking: bool | None,
                        style: str) -> str:
    if style == "prefill":
        # No trailing whitespace: byte-level tokenizers attach the space to the next word, so a
        # prompt ending in a bare space is one the model has never seen.
        return render_prompt(tokenizer, trace.problem, instruction, enable_thinking, assistant_prefix=prefix.rstrip())
    if style == "draft":
        problem = trace.problem + "\n\n" + DRAFT_REQUEST.format(prefix=prefix.strip())
        return render_prompt(tokenizer, problem, instruction, enable_thinking)
    raise HarnessError(f"unknown prompt style {style!r} (known: {', '.join(PROMPT_STYLES)})")


def training_text(tokenizer: Any, trace: Trace, completion: str, instruction: str) -> str:
    """The SFT example as the trainer renders it (user turn, then the assistant's target)."""
    messages = [{"role": "user", "content": user_message(trace.problem, instruction)},
                {"role": "assistant", "content": completion}]
    return tokenizer.apply_chat_template(messages, tokenize=False)


def count_tokens(tokenizer: Any, texts: list[str]) -> list[int]:
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


@dataclass
class Request:
    """A prompt a method will send for a (trace, prefix): `render` builds it, `new_tokens` may follow."""

    render: Callable[[Trace, str], str]
    new_tokens: int | str  # or `context`: the request leaves room for at least one new token


class PrefixFitter:
    """The longest prefix of each trace that every request and the training example allow.

    The fit is monotone in the prefix length, so it is found from an estimate (the pieces'
    summed token counts) and then confirmed on the exact rendered texts, stepping down while
    one does not fit and up while the next one does: a couple of exact tokenizations per trace
    instead of one per candidate length.
    """

    def __init__(self, tokenizer: Any, settings: PrefixSettings, *, instruction: str, requests: list[Request],
                 max_context: int | None, max_length: int | None, continuation_tokens: int | str) -> None:
        self.tokenizer, self.settings, self.instruction = tokenizer, settings, instruction
        self.requests, self.max_context, self.max_length = requests, max_context, max_length
        # Under `max_new_tokens: context` a continuation's length is only known once written: the
        # prefix may take all but one token, and an example that comes out too long is dropped then.
        self.continuation_tokens = reserved_tokens(continuation_tokens)

    def fits(self, trace: Trace, prefix: str) -> bool:
        texts, budgets = [], []
        if self.max_context is not None:
            for req in self.requests:
                texts.append(req.render(trace, prefix))
                budgets.append(self.max_context - reserved_tokens(req.new_tokens))
        if self.max_length is not None:
            texts.append(training_text(self.tokenizer, trace, build_target(prefix, "", self.settings), self.instruction))
            budgets.append(self.max_length - self.continuation_tokens)
        if self.settings.max_prefix_tokens is not None:
            texts.append(prefix)
            budgets.append(self.settings.max_prefix_tokens)
        return all(n <= b for n, b in zip(count_tokens(self.tokenizer, texts), budgets))

    def limit(self, trace: Trace, pieces: list[str]) -> int:
        """The largest t such that the first t pieces fit (0 when not even one does)."""
        if not pieces:
            return 0
        if self.fits(trace, "".join(pieces)):
            return len(pieces)
        # The empty-prefix overhead plus summed piece counts estimates where the fit ends.
        overhead = max(0, max(self._sizes(trace, "")))
        budget = self._budget()
        total, t = overhead, 0
        for n in count_tokens(self.tokenizer, pieces):
            if total + n > budget:
                break
            total += n
            t += 1
        t = min(t, len(pieces) - 1)  # the whole CoT was checked above
        while t > 0 and not self.fits(trace, "".join(pieces[:t])):
            t -= 1
        while t + 1 < len(pieces) and self.fits(trace, "".join(pieces[: t + 1])):
            t += 1
        return t

    def _budget(self) -> int:
        budgets = []
        if self.max_context is not None:
            budgets += [self.max_context - reserved_tokens(r.new_tokens) for r in self.requests]
        if self.max_length is not None:
            budgets.append(self.max_length - self.continuation_tokens)
        if self.settings.max_prefix_tokens is not None:
            budgets.append(self.settings.max_prefix_tokens)
        return min(budgets) if budgets else 1 << 60

    def _sizes(self, trace: Trace, prefix: str) -> list[int]:
        texts = [r.render(trace, prefix) for r in self.requests] if self.max_context is not None else []
        if self.max_length is not None:
            texts.append(training_text(self.tokenizer, trace, build_target(prefix, "", self.settings), self.instruction))
        return count_tokens(self.tokenizer, texts) or [0]


@dataclass
class Plan:
    """Where one trace's prefix ends (`t` pieces), or why it yields nothing (`reason`).

    `continuation` is set when a correct one is already known (a reused judge rollout).
    """

    trace: Trace
    pieces: list[str]
    t: int | None = None
    reason: str | None = None
    fallback: bool = False
    continuation: str | None = None

    @property
    def prefix(self) -> str:
        return "".join(self.pieces[: self.t or 0])


def make_plans(traces: list[Trace], settings: PrefixSettings, graded: bool) -> list[Plan]:
    """One plan per trace, its CoT split into pieces, marked when it cannot yield an example.

    `graded`: the method keeps only continuations that reach the gold answer, so a trace without
    one (s1K rows kept by `teacher.keep_uncheckable` for the methods that need none) is dropped
    before any generation is spent on it.
    """
    plans = [Plan(trace, split_pieces(trace.long_cot, settings.unit, settings.max_pieces)) for trace in traces]
    for plan in plans:
        if not plan.pieces:
            plan.reason = "empty_cot"
        elif graded and not plan.trace.answer.strip():
            plan.reason = "no_gold_answer"
    return plans


@dataclass
class PrefixResult:
    examples: list[SFTExample]
    stats: dict[str, Any] = field(default_factory=dict)


def align_plans(plans: list[Plan], settings: PrefixSettings, generator: Any, grade: Callable[[list[str], list[str]], list[bool]],
                *, instruction: str, enable_thinking: bool | None, sampling: SamplingConfig, seed: int,
                max_length: int | None) -> PrefixResult:
    """Continue every planned prefix that has no continuation yet, keep correct ones, count the rest."""
    todo = [p for p in plans if p.t is not None and p.continuation is None]
    requests = [
        GenerationRequest(
            prompt=continuation_prompt(generator.tokenizer, p.trace, p.prefix, instruction, enable_thinking, settings.prompt_style),
            seed_key=f"align/{p.trace.id}",
            sample_indices=list(range(settings.samples)),
        )
        for p in todo
    ]
    outputs = generator.generate(requests, replace(sampling, seed=seed)) if requests else []
    golds = [p.trace.answer for p, comps in zip(todo, outputs) for _ in comps]
    correct = grade(golds, [c.text for comps in outputs for c in comps])
    pos = 0
    for plan, comps in zip(todo, outputs):
        flags = correct[pos : pos + len(comps)]
        pos += len(comps)
        plan.continuation = next((c.text for c, ok in zip(comps, flags) if ok), None)
        if plan.continuation is None:
            plan.reason = "no_correct_continuation"

    examples, kept = [], []
    candidates = [p for p in plans if p.t is not None and p.continuation is not None]
    targets = [build_target(p.prefix, p.continuation, settings) for p in candidates]
    lengths = count_tokens(generator.tokenizer, [training_text(generator.tokenizer, p.trace, target, instruction)
                                                 for p, target in zip(candidates, targets)])
    for plan, target, n in zip(candidates, targets, lengths):
        if max_length is not None and n > max_length:
            plan.reason = "example_over_max_length"
            continue
        examples.append(SFTExample(plan.trace.id, user_message(plan.trace.problem, instruction), target))
        kept.append(plan)
    return PrefixResult(examples, plan_stats(plans, kept))


def plan_stats(plans: list[Plan], kept: list[Plan]) -> dict[str, Any]:
    """Counts every method on the prefix path reports, in the same names."""
    ratios = [p.t / len(p.pieces) for p in kept]
    kept_ids = {id(p) for p in kept}
    dropped = Counter(p.reason for p in plans if id(p) not in kept_ids)
    return {
        "traces": len(plans),
        "kept": len(kept),
        "dropped": {reason: dropped.get(reason, 0) for reason in DROP_REASONS if dropped.get(reason)},
        "pieces_mean": statistics.fmean(len(p.pieces) for p in plans) if plans else None,
        "full_cot_fallbacks": sum(1 for p in kept if p.fallback),
        "kept_prefix_ratios": [round(r, 4) for r in ratios],
        "kept_prefix_ratio_mean": statistics.fmean(ratios) if ratios else None,
        "kept_prefix_ratio_median": statistics.median(ratios) if ratios else None,
    }
