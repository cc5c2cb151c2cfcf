"""Judges decide whether a teacher prefix is sufficient; one batched generation per call.

- `rollout` (default) measures sufficiency: the student continues from the prefix k times
  and the prefix counts as sufficient when at least `threshold` of the continuations reach
  the gold answer. It works for students too small to follow a judging instruction.
- `self` is the paper's judge: the student reads the question and the partial reasoning
  and answers ENOUGH or NOT_ENOUGH (greedy, at most 256 new tokens, thinking off).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from harness.config import SamplingConfig
from harness.engines.base import GenerationRequest
from harness.errors import HarnessError
from harness.eval.prompts import render_prompt
from harness.methods import Trace

JUDGES = ("rollout", "self")

SELF_JUDGE_INSTRUCTION = (
    "Below is a math problem and the beginning of a worked solution. Decide whether this partial "
    "reasoning already holds the key idea and the essential transformations, so that finishing "
    "the solution is routine. Reply with one label only: [ENOUGH] if it is sufficient, "
    "[NOT_ENOUGH] if essential steps are still missing."
)

_BRACKETED = re.compile(r"\[\s*(not[\s_-]*enough|enough)\s*\]", re.IGNORECASE)
_BARE = re.compile(r"(?<![A-Za-z])(not[\s_-]*enough|enough)(?![A-Za-z])", re.IGNORECASE)


def parse_label(reply: str) -> bool | None:
    """ENOUGH -> True, NOT_ENOUGH -> False, anything unclear -> None.

    Bracketed labels win over bare words. A reply naming both labels (for example echoing
    the instruction) is ambiguous and counts as unparseable.
    """
    for pattern in (_BRACKETED, _BARE):
        labels = {not m.group(1).lower().startswith("not") for m in pattern.finditer(reply)}
        if len(labels) == 1:
            return labels.pop()
        if len(labels) > 1:
            return None
    return None


@dataclass
class JudgeQuery:
    trace: Trace
    prefix: str  # the first t pieces of the teacher CoT, verbatim
    t: int


Grader = Callable[[list[str], list[str]], list[bool]]


class Judge:
    """Base class: `judge(queries) -> verdicts`, with counters for the method's statistics."""

    name = ""

    def __init__(self, generator, instruction: str, enable_thinking: bool | None, seed: int) -> None:
        self.generator = generator
        self.instruction = instruction
        self.enable_thinking = enable_thinking
        self.seed = seed
        self.calls = 0
        self.queries = 0
        self.unparseable = 0

    def __call__(self, queries: list[JudgeQuery]) -> list[bool]:
        self.calls += 1
        self.queries += len(queries)
        return self.judge(queries)

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        raise NotImplementedError

    def stats(self) -> dict:
        return {"judge": self.name, "judge_generate_calls": self.calls, "unparseable_judge_replies": self.unparseable}


class SelfJudge(Judge):
    name = "self"

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        sampling = SamplingConfig(temperature=0.0, max_new_tokens=256, seed=self.seed)
        requests = [
            GenerationRequest(
                prompt=render_prompt(self.generator.tokenizer, _judge_text(q), SELF_JUDGE_INSTRUCTION, enable_thinking=False),
                seed_key=f"judge-self/{q.trace.id}/{q.t}",
                sample_indices=[0],
            )
            for q in queries
        ]
        verdicts = []
        for completions in self.generator.generate(requests, sampling):
            label = parse_label(completions[0].text)
            if label is None:
                self.unparseable += 1
            verdicts.append(bool(label))  # unparseable counts as not enough
        return verdicts


def _judge_text(q: JudgeQuery) -> str:
    return f"Problem:\n{q.trace.problem}\n\nPartial reasoning:\n{q.prefix.strip()}\n\nLabel:"


class RolloutJudge(Judge):
    name = "rollout"

    def __init__(self, generator, instruction, enable_thinking, seed, *, sampling: SamplingConfig,
                 grader: Grader, k: int = 4, threshold: float = 0.5) -> None:
        super().__init__(generator, instruction, enable_thinking, seed)
        if k < 1 or not 0.0 < threshold <= 1.0:
            raise HarnessError(f"rollout judge needs k >= 1 and 0 < threshold <= 1 (got k={k}, threshold={threshold})")
        self.sampling = replace(sampling, seed=seed)
        self.grader = grader
        self.k = k
        self.threshold = threshold
        self.rollouts = 0
        self.correct_rollouts = 0

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        requests = [
            GenerationRequest(
                prompt=render_prompt(self.generator.tokenizer, q.trace.problem, self.instruction,
                                     self.enable_thinking, assistant_prefix=q.prefix.rstrip()),
                seed_key=f"judge-rollout/{q.trace.id}/{q.t}",
                sample_indices=list(range(self.k)),
            )
            for q in queries
        ]
        outputs = self.generator.generate(requests, self.sampling)
        # What the student would have written as a whole: the prefix it was given, then its continuation.
        golds = [q.trace.answer for q, comps in zip(queries, outputs) for _ in comps]
        texts = [q.prefix.rstrip() + c.text for q, comps in zip(queries, outputs) for c in comps]
        correct = self.grader(golds, texts)
        verdicts, pos = [], 0
        for comps in outputs:
            hits = sum(correct[pos : pos + len(comps)])
            pos += len(comps)
            self.rollouts += len(comps)
            self.correct_rollouts += hits
            verdicts.append(hits >= self.threshold * self.k)
        return verdicts

    def stats(self) -> dict:
        out = super().stats()
        out.update({"rollouts": self.rollouts, "rollout_accuracy": self.correct_rollouts / self.rollouts if self.rollouts else None})
        return out


def make_judge(name: str, generator, *, instruction: str, enable_thinking: bool | None, seed: int,
               sampling: SamplingConfig, grader: Grader, k: int, threshold: float) -> Judge:
    if name == "self":
        return SelfJudge(generator, instruction, enable_thinking, seed)
    if name == "rollout":
        return RolloutJudge(generator, instruction, enable_thinking, seed, sampling=sampling, grader=grader,
                            k=k, threshold=threshold)
    raise HarnessError(f"unknown judge {name!r} (known: {', '.join(JUDGES)})")
