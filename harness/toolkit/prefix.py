"""Prefix alignment: the student continues from a teacher prefix; only correct continuations count.

The training target is the teacher prefix, verbatim, followed by the student's own
continuation, optionally wrapped in markers as in the paper:
`<Begin_of_Prefix>` prefix `<End_of_Prefix>` continuation.

Two prompt styles:
- `prefill` (default): the standard prompt with the assistant turn prefilled by the prefix,
  so the student simply keeps writing; works for students that cannot follow instructions.
- `draft`: the paper's style for instruction-following students: the prefix is shown in the
  user turn as a draft and the student is asked to continue from it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.config import SamplingConfig
from harness.engines.base import GenerationRequest
from harness.eval.prompts import render_prompt, user_message
from harness.errors import HarnessError
from harness.methods import SFTExample, Trace

BEGIN_MARKER = "<Begin_of_Prefix>"
END_MARKER = "<End_of_Prefix>"
PROMPT_STYLES = ("prefill", "draft")

DRAFT_REQUEST = (
    "Here is a draft of the beginning of a solution:\n{prefix}\n\n"
    "Continue from where the draft stops, reason step by step, and put your final answer within \\boxed{{}}."
)


@dataclass
class AlignSettings:
    samples: int = 1
    markers: bool = True
    begin_marker: str = BEGIN_MARKER
    end_marker: str = END_MARKER
    prompt_style: str = "prefill"


@dataclass
class Aligned:
    """One trace after alignment: `example` is None when no continuation was correct."""

    trace: Trace
    prefix: str
    continuation: str | None
    example: SFTExample | None


def build_target(prefix: str, continuation: str, settings: AlignSettings) -> str:
    """Teacher prefix (verbatim, trailing whitespace aside), then the student's continuation."""
    prefix = prefix.rstrip()
    if settings.markers:
        return f"{settings.begin_marker}{prefix}{settings.end_marker}{continuation}"
    return prefix + ("" if continuation[:1].isspace() else " ") + continuation


def continuation_prompt(tokenizer, trace: Trace, prefix: str, instruction: str, enable_thinking: bool | None,
                        style: str) -> str:
    if style == "prefill":
        # No trailing whitespace: byte-level tokenizers attach the space to the next word, so a
        # prompt ending in a bare space is one the model has never seen.
        return render_prompt(tokenizer, trace.problem, instruction, enable_thinking, assistant_prefix=prefix.rstrip())
    if style == "draft":
        problem = trace.problem + "\n\n" + DRAFT_REQUEST.format(prefix=prefix.strip())
        return render_prompt(tokenizer, problem, instruction, enable_thinking)
    raise HarnessError(f"unknown prompt style {style!r} (known: {', '.join(PROMPT_STYLES)})")


def align(items: list[tuple[Trace, str]], settings: AlignSettings, generator, grader, *, instruction: str,
          enable_thinking: bool | None, sampling: SamplingConfig, seed: int) -> list[Aligned]:
    """Continue every (trace, prefix) `settings.samples` times in one batched call; keep the first correct one."""
    if settings.samples < 1:
        raise HarnessError(f"samples must be >= 1 (got {settings.samples})")
    requests = [
        GenerationRequest(
            prompt=continuation_prompt(generator.tokenizer, trace, prefix, instruction, enable_thinking, settings.prompt_style),
            seed_key=f"align/{trace.id}",
            sample_indices=list(range(settings.samples)),
        )
        for trace, prefix in items
    ]
    outputs = generator.generate(requests, replace(sampling, seed=seed)) if requests else []
    # In prefill style the student wrote prefix + continuation as one answer; a draft continuation stands alone.
    whole = settings.prompt_style == "prefill"
    golds = [trace.answer for (trace, _), comps in zip(items, outputs) for _ in comps]
    texts = [(prefix.rstrip() if whole else "") + c.text for (_, prefix), comps in zip(items, outputs) for c in comps]
    correct = grader(golds, texts)
    results, pos = [], 0
    for (trace, prefix), comps in zip(items, outputs):
        flags = correct[pos : pos + len(comps)]
        pos += len(comps)
        chosen = next((c.text for c, ok in zip(comps, flags) if ok), None)
        example = None
        if chosen is not None:
            example = SFTExample(trace.id, user_message(trace.problem, instruction), build_target(prefix, chosen, settings))
        results.append(Aligned(trace, prefix, chosen, example))
    return results
