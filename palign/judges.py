"""Judges decide whether a teacher prefix is sufficient; one batched generation per call.

- `rollout` (default) measures sufficiency: the student continues from the prefix k times,
  in the same prompt style as alignment, and the prefix counts as sufficient when at least
  `threshold` of the continuations, graded alone, reach the gold answer. It works for
  students too small to follow a judging instruction, and its correct continuations can be
  reused as the alignment continuation.
- `self` is the paper's judge: the student reads the question and the partial reasoning
  and answers ENOUGH or NOT_ENOUGH (at most 256 new tokens, thinking off). By default it
  decodes greedily and reads the reply strictly (`parse_label`); `judge_sampling:
  generation_config` samples with the student's own defaults and `judge_parse: authors` counts
  any reply containing "[ENOUGH]" as enough, as the authors' script does.

Every prompt a judge sends is described by `request()`, so the method can size prefixes to
the student's context before the search starts. Both register in the core's judge registry
(`harness.registries.JUDGES`), where a plugin's judge (a `Judge` subclass, through the
`harness.judges` entry-point group) stands beside them: `method.params.judge` takes any name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness.config import SamplingConfig
from harness.engines.base import GenerationRequest
from harness.errors import HarnessError, clip
from harness.eval.prompts import render_prompt
from harness.methods import Trace
from harness.registries import JUDGES
from harness.toolkit.prefix import Request, continuation_prompt

SELF_JUDGE_MAX_NEW_TOKENS = 256
PARSES = ("strict", "authors")
SELF_SAMPLINGS = ("greedy", "generation_config")
# What transformers' generate uses for a field a model's generation_config.json leaves unset.
_GENERATE_DEFAULTS = {"do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": 50, "repetition_penalty": 1.0}

SELF_JUDGE_INSTRUCTION = (
    "Below is a math problem and the beginning of a worked solution. Decide whether this partial "
    "reasoning already holds the key idea and the essential transformations, so that finishing "
    "the solution is routine. Reply with one label only: [ENOUGH] if it is sufficient, "
    "[NOT_ENOUGH] if essential steps are still missing."
)

_LABEL = r"(not[\s_-]*enough|enough)"
_BRACKETED = re.compile(r"\[\s*" + _LABEL + r"\s*\]", re.IGNORECASE)
# A bracketed label right after a negation ("not [ENOUGH]", "isn't [ENOUGH]") says the opposite.
_NEGATED = re.compile(r"(?:\bnot|\bnever|\bno|n't)\s*[*_`\"']*\s*$", re.IGNORECASE)
# A reply that is nothing but the label, give or take a "Label:" lead-in, emphasis and a full stop.
_ALONE = re.compile(r"^\s*(?:(?:label|answer|verdict|judgement|judgment)\s*:\s*)?[*_`\"']*\s*" + _LABEL
                    + r"\s*[*_`\"']*\s*[.!]?\s*$", re.IGNORECASE)


def authors_label(reply: str) -> bool:
    """The authors' reading (NEUIR/P-ALIGN, src/binary_search.py line 99): enough when the reply
    contains "[ENOUGH]" anywhere, or is exactly "ENOUGH"; case-sensitive, so "[NOT_ENOUGH]" is not."""
    return "[ENOUGH]" in reply or reply.strip() == "ENOUGH"


def self_judge_sampling(mode: str, student: str, seed: int) -> SamplingConfig:
    """The self judge's decoding: greedy, or the student's generation_config.json as a plain `generate` call reads it.

    The authors call `model.generate` with only `max_new_tokens` (src/binary_search.py lines
    36-39), so the model's own sampling defaults apply; a field the file leaves unset takes
    transformers' default, and a local model folder without the file decodes greedily.
    """
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=SELF_JUDGE_MAX_NEW_TOKENS, seed=seed)
    if mode == "greedy":
        return greedy
    found = _generation_config(student)
    values = {name: default if found.get(name) is None else found[name] for name, default in _GENERATE_DEFAULTS.items()}
    if not values["do_sample"]:
        return greedy
    return SamplingConfig(temperature=float(values["temperature"]), top_p=float(values["top_p"]),
                          top_k=int(values["top_k"]), repetition_penalty=float(values["repetition_penalty"]),
                          max_new_tokens=SELF_JUDGE_MAX_NEW_TOKENS, seed=seed)


def _generation_config(student: str) -> dict:
    """The student's generation_config.json as a mapping; {} for a local folder that has none."""
    from transformers import GenerationConfig

    folder = Path(student).expanduser()
    if folder.is_dir() and not (folder / "generation_config.json").is_file():
        return {}
    try:
        return GenerationConfig.from_pretrained(str(folder) if folder.is_dir() else student).to_dict()
    except (OSError, ValueError) as exc:
        # Greedy in its place would not be the student's own sampling: say so rather than guess.
        reason = clip((str(exc).strip().splitlines() or [type(exc).__name__])[0], 100)
        raise HarnessError(f"method.params.judge_sampling=generation_config: cannot read the generation_config.json "
                           f"of {student!r} ({reason}); download the model, or use method.params.judge_sampling=greedy"
                           ) from None


def _is_enough(label: str) -> bool:
    return not label.lower().startswith("not")


def parse_label(reply: str) -> bool | None:
    """ENOUGH -> True, NOT_ENOUGH -> False, anything else -> None (unparseable).

    Only a bracketed label, or a label standing alone as the whole reply, counts. A reply
    with both labels (an echo of the instruction), a negated bracket ("not [ENOUGH]") or the
    word used in a sentence ("The prefix isn't enough.") is unparseable: it is counted, and
    the judge treats it as not enough.
    """
    bracketed = list(_BRACKETED.finditer(reply))
    if bracketed:
        labels = {_is_enough(m.group(1)) for m in bracketed}
        if len(labels) > 1 or any(_NEGATED.search(reply[: m.start()]) for m in bracketed):
            return None
        return labels.pop()
    alone = _ALONE.match(reply)
    return _is_enough(alone.group(1)) if alone else None


@dataclass
class JudgeQuery:
    trace: Trace
    prefix: str  # the first t pieces of the teacher CoT, verbatim
    t: int


Grade = Callable[[list[str], list[str]], list[bool]]


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

    @classmethod
    def create(cls, generator, *, instruction: str, enable_thinking: bool | None, seed: int, **settings) -> "Judge":
        """Build from palign's full set of judge settings; a judge takes the ones it uses."""
        return cls(generator, instruction, enable_thinking, seed)

    def __call__(self, queries: list[JudgeQuery]) -> list[bool]:
        self.calls += 1
        self.queries += len(queries)
        return self.judge(queries)

    def request(self) -> Request:
        """The prompt this judge sends for a (trace, prefix), and how many tokens may follow it."""
        raise NotImplementedError

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        raise NotImplementedError

    def stats(self) -> dict:
        return {"judge": self.name, "judge_generate_calls": self.calls, "unparseable_judge_replies": self.unparseable}


@JUDGES.register("self")
class SelfJudge(Judge):
    name = "self"

    def __init__(self, generator, instruction: str, enable_thinking: bool | None, seed: int, *,
                 parse: str = "strict", sampling: SamplingConfig | None = None) -> None:
        super().__init__(generator, instruction, enable_thinking, seed)
        self.parse = parse
        self.sampling = sampling or self_judge_sampling("greedy", "", seed)
        self.enough_replies = 0

    @classmethod
    def create(cls, generator, *, instruction: str, enable_thinking: bool | None, seed: int, parse: str = "strict",
               self_sampling: SamplingConfig | None = None, **settings) -> "SelfJudge":
        return cls(generator, instruction, enable_thinking, seed, parse=parse, sampling=self_sampling)

    def request(self) -> Request:
        def render(trace: Trace, prefix: str) -> str:
            return render_prompt(self.generator.tokenizer, _judge_text(trace, prefix), SELF_JUDGE_INSTRUCTION,
                                 enable_thinking=False)

        return Request(render, SELF_JUDGE_MAX_NEW_TOKENS)

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        render = self.request().render
        requests = [GenerationRequest(render(q.trace, q.prefix), f"judge-self/{q.trace.id}/{q.t}", [0]) for q in queries]
        verdicts = []
        for completions in self.generator.generate(requests, self.sampling):
            reply = completions[0].text
            label = parse_label(reply)
            if label is None:
                self.unparseable += 1  # by the strict reading, whichever reading decides
            verdict = authors_label(reply) if self.parse == "authors" else bool(label)  # strict: unparseable is not enough
            self.enough_replies += verdict
            verdicts.append(verdict)
        return verdicts

    def stats(self) -> dict:
        return {**super().stats(), "judge_parse": self.parse, "judge_sampling": asdict(self.sampling),
                "judge_enough_replies": self.enough_replies}


def _judge_text(trace: Trace, prefix: str) -> str:
    return f"Problem:\n{trace.problem}\n\nPartial reasoning:\n{prefix.strip()}\n\nLabel:"


@JUDGES.register("rollout")
class RolloutJudge(Judge):
    name = "rollout"

    def __init__(self, generator, instruction, enable_thinking, seed, *, sampling: SamplingConfig,
                 grade: Grade, k: int = 4, threshold: float = 0.5, prompt_style: str = "prefill") -> None:
        super().__init__(generator, instruction, enable_thinking, seed)
        self.sampling = replace(sampling, seed=seed)
        self.grade = grade
        self.k = k
        self.threshold = threshold
        self.prompt_style = prompt_style
        self.rollouts = 0
        self.correct_rollouts = 0
        # (trace id, t) -> the first correct continuation: alignment may reuse it as the student's own.
        self.correct: dict[tuple[str, int], str] = {}

    @classmethod
    def create(cls, generator, *, instruction: str, enable_thinking: bool | None, seed: int, sampling: SamplingConfig,
               grade: Grade, k: int, threshold: float, prompt_style: str, **settings) -> "RolloutJudge":
        return cls(generator, instruction, enable_thinking, seed, sampling=sampling, grade=grade, k=k,
                   threshold=threshold, prompt_style=prompt_style)

    def request(self) -> Request:
        def render(trace: Trace, prefix: str) -> str:
            return continuation_prompt(self.generator.tokenizer, trace, prefix, self.instruction, self.enable_thinking,
                                       self.prompt_style)

        return Request(render, self.sampling.max_new_tokens)

    def judge(self, queries: list[JudgeQuery]) -> list[bool]:
        render = self.request().render
        requests = [GenerationRequest(render(q.trace, q.prefix), f"judge-rollout/{q.trace.id}/{q.t}", list(range(self.k)))
                    for q in queries]
        outputs = self.generator.generate(requests, self.sampling)
        golds = [q.trace.answer for q, comps in zip(queries, outputs) for _ in comps]
        correct = self.grade(golds, [c.text for comps in outputs for c in comps])
        verdicts, pos = [], 0
        for q, comps in zip(queries, outputs):
            flags = correct[pos : pos + len(comps)]
            pos += len(comps)
            self.rollouts += len(comps)
            self.correct_rollouts += sum(flags)
            first = next((c.text for c, ok in zip(comps, flags) if ok), None)
            if first is not None:
                self.correct[(q.trace.id, q.t)] = first
            verdicts.append(sum(flags) >= self.threshold * self.k)
        return verdicts

    def stats(self) -> dict:
        out = super().stats()
        out.update({"rollouts": self.rollouts, "rollout_accuracy": self.correct_rollouts / self.rollouts if self.rollouts else None})
        return out


def make_judge(name: str, generator, *, instruction: str, enable_thinking: bool | None, seed: int,
               sampling: SamplingConfig, grade: Grade, k: int, threshold: float, prompt_style: str,
               parse: str = "strict", self_sampling: SamplingConfig | None = None) -> Judge:
    """The registered judge `name`, built from palign's judge settings (unknown names: one line listing the known)."""
    return JUDGES.get(name).create(generator, instruction=instruction, enable_thinking=enable_thinking, seed=seed,
                                   sampling=sampling, grade=grade, k=k, threshold=threshold, prompt_style=prompt_style,
                                   parse=parse, self_sampling=self_sampling)
