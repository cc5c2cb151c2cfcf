"""The student's engine as methods use it: resumable generation and sandboxed continuation grading.

Completions are appended to a JSONL cache in the method's work folder as each batch
finishes. Engines draw sample j of a request from its own stream (seed, seed_key, j), so
a resumed run that skips cached samples produces exactly what an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from harness.config import SamplingConfig
from harness.engines.base import Completion, GenerationRequest
from harness.jsonl import append_jsonl, read_jsonl


def _key(prompt: str, seed_key: str, sample: int, sampling: SamplingConfig) -> str:
    blob = json.dumps([prompt, seed_key, sample, asdict(sampling)], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


class CachedGenerator:
    """Wraps an engine; `cache_path=None` disables the cache (tests, dry use)."""

    def __init__(self, engine, cache_path: Path | None = None, batch_size: int | None = None) -> None:
        self.engine = engine
        self.cache_path = cache_path
        # Requests per engine call (results are stored after each): the engine's chunk, if it has one.
        self.batch_size = batch_size or int(getattr(engine, "chunk_size", None) or 64)
        self.cache: dict[str, Completion] = {}
        self.generated_tokens = 0
        if cache_path is not None and cache_path.exists():
            for rec in read_jsonl(cache_path, tolerate_torn_tail=True):
                self.cache[rec["key"]] = Completion(rec["text"], rec["num_tokens"], rec["finish_reason"])

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        """Like `Engine.generate`, but samples already in the cache are not generated again."""
        keys = [[_key(r.prompt, r.seed_key, j, sampling) for j in r.sample_indices] for r in requests]
        todo: list[GenerationRequest] = []
        for req, req_keys in zip(requests, keys):
            missing = [j for j, k in zip(req.sample_indices, req_keys) if k not in self.cache]
            if missing:
                todo.append(GenerationRequest(req.prompt, req.seed_key, missing))
        # Chunks keep a kill from losing more than one chunk of work.
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            outputs = self.engine.generate(chunk, sampling)
            records = []
            for req, completions in zip(chunk, outputs):
                for j, comp in zip(req.sample_indices, completions):
                    key = _key(req.prompt, req.seed_key, j, sampling)
                    self.cache[key] = comp
                    self.generated_tokens += comp.num_tokens
                    records.append({"key": key, "text": comp.text, "num_tokens": comp.num_tokens,
                                    "finish_reason": comp.finish_reason})
            if self.cache_path is not None:
                append_jsonl(self.cache_path, records)
        return [[self.cache[k] for k in req_keys] for req_keys in keys]


Grade = Callable[[list[str], list[str]], list[bool]]


def method_tools(ctx) -> tuple[CachedGenerator, Grade]:
    """The cached student generator and the continuation grader a method uses, both from its context.

    The grader answers, per (gold, continuation), whether the continuation *alone* reaches the
    gold answer in its own closed `\\boxed{}`: the teacher prefix it continued is never graded,
    so an answer the prefix already states, or an unclosed box, never counts for the student.
    The judge and the correctness filter both grade through it. Grading goes through the
    context's one grader pool, which the pipeline stops when the method returns.
    """
    generator = CachedGenerator(ctx.engine, Path(ctx.work_dir) / "generations.jsonl")

    def grade(golds: list[str], continuations: list[str]) -> list[bool]:
        if not continuations:
            return []
        return [g.outcome == "correct" for g in ctx.grader.grade(golds, continuations, require_box=True)]

    return generator, grade
