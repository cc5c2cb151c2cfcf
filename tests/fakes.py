"""Fakes shared by the method and pipeline tests: a student whose replies the test controls.

Tokens are words, so a test can count a prompt's length by eye.
"""

from pathlib import Path

from harness.config import SamplingConfig
from harness.engines.base import Completion, check_context
from harness.eval.grading import Grade
from harness.methods import MethodContext, Trace


class FakeTokenizer:
    chat_template = "fake"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True, **kwargs):
        text = "".join(f"<{m['role']}> {m['content']} </{m['role']}> " for m in messages)
        return text + ("<assistant> " if add_generation_prompt else "")

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [t.split() for t in texts]}  # one token per word


class FakeStudent:
    """Solves a problem only when the KEY sentence is in its prompt; replies come from `reply`.

    With `max_context` set it refuses requests past it exactly as the real engines do, and
    records the longest request it was ever sent.
    """

    def __init__(self, reply=None, max_context=None):
        self.tokenizer = FakeTokenizer()
        self.model_id = "fake-student"
        self.max_context = max_context
        self.calls = []
        self.prompts = []
        self.longest = 0
        self.budgets = []  # each request's new-token budget, as the engine gave it
        self.samplings = []  # (prompt, sampling) of every request
        self.reply = reply or self.solve

    @staticmethod
    def solve(prompt, j):
        answer = prompt.split("answer=")[1].split(".")[0]
        return f" So the result is \\boxed{{{answer}}}." if "KEY" in prompt else " I guess \\boxed{0}."

    def generate(self, requests, sampling):
        lengths = [len(r.prompt.split()) for r in requests]
        budgets = check_context(requests, lengths, sampling.max_new_tokens, self.max_context, self.model_id)
        self.longest = max([self.longest, *(n + b for n, b in zip(lengths, budgets))])
        self.budgets += budgets
        self.calls.append(len(requests))
        self.prompts += [r.prompt for r in requests]
        self.samplings += [(r.prompt, sampling) for r in requests]
        return [[Completion(self.reply(r.prompt, j), 5, "stop") for j in r.sample_indices] for r in requests]


def fake_grader(golds, outputs):
    return [out.rstrip(". ").endswith(f"\\boxed{{{g}}}") for g, out in zip(golds, outputs)]


class FakeGraderPool:
    """Stands in for the method context's grader pool, grading with `fake_grader`."""

    def __init__(self, *args, **kwargs):
        pass

    def grade(self, golds, outputs, progress_label=None, require_box=False):
        return [Grade("correct" if ok else "incorrect", None) for ok in fake_grader(golds, outputs)]

    def close(self):
        pass


def make_trace(i: int, m: int, need: int) -> Trace:
    sentences = [f"Step {s} of problem {i}. " if s != need else "The KEY step is here. " for s in range(1, m + 1)]
    return Trace(id=f"t{i}", problem=f"Problem {i}: find it, answer={40 + i}.", answer=str(40 + i),
                 long_cot="".join(sentences), short_cot=f"\\boxed{{{40 + i}}}")


def make_ctx(tmp_path: Path, engine, **kwargs) -> MethodContext:
    kwargs.setdefault("sampling", SamplingConfig(temperature=0.6))
    kwargs.setdefault("student", "fake")
    tmp_path.mkdir(parents=True, exist_ok=True)
    return MethodContext(engine_factory=lambda: engine, seed=0, work_dir=tmp_path, **kwargs)
