"""The `model` source: sample a teacher model n times per problem, keep the first correct sample.

A reasoning model's `<think>...</think>` part is the long CoT and what follows it the short
CoT. Without think tags the whole output is the long CoT and the short CoT is its last
paragraph(s) from the one holding the final `\\boxed{}` on. Generations are appended to
`generations.jsonl` in the stage's work folder, one record per (problem, sample) with its
grade, so a killed run resumes where it stopped without repeating or duplicating samples.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.fingerprint import looks_like_path
from harness.flag_names import spell
from harness.jsonl import append_jsonl, read_jsonl
from harness.teacher.sources import SourceResult

GENERATIONS = "generations.jsonl"
_PARAGRAPH = re.compile(r"\n\s*\n")


def split_output(text: str) -> tuple[str, str]:
    """(long_cot, short_cot) of one teacher output."""
    if "</think>" in text:
        thinking, _, final = text.partition("</think>")
        return thinking.replace("<think>", "").strip(), final.strip()
    text = text.strip()
    paragraphs = [p for p in _PARAGRAPH.split(text) if p.strip()]
    boxed = [i for i, p in enumerate(paragraphs) if "\\boxed" in p]
    start = boxed[-1] if boxed else len(paragraphs) - 1
    # the boxed line alone is often just "\boxed{x}": take the paragraph leading up to it too
    if boxed and len(paragraphs[start].split()) <= 3 and start > 0:
        start -= 1
    return text, "\n\n".join(p.strip() for p in paragraphs[start:])


def load_problems(cfg: RunConfig) -> list[dict[str, str]]:
    """From `teacher.problems` (JSONL of id/problem/answer) or the synthetic teacher stream."""
    if cfg.teacher.problems:
        rows = read_jsonl(cfg.teacher.problems)
        problems = []
        for i, row in enumerate(rows, start=1):
            missing = [k for k in ("id", "problem", "answer") if k not in row]
            if missing:
                raise HarnessError(f"{cfg.teacher.problems}:{i}: missing field {missing[0]!r} (need id, problem, answer)")
            problems.append({"id": str(row["id"]), "problem": str(row["problem"]), "answer": str(row["answer"])})
        if len({p["id"] for p in problems}) != len(problems):
            raise HarnessError(f"{cfg.teacher.problems}: problem ids are not unique")
    else:
        from harness.synth.problems import synth_problems
        from harness.synth.teacher import TEACHER_TIER

        problems = [
            {"id": p.id, "problem": p.problem, "answer": p.answer}
            for p in synth_problems("teacher", TEACHER_TIER, cfg.teacher.num_problems, cfg.world.seed)
        ]
    return problems[: cfg.teacher.limit] if cfg.teacher.limit is not None else problems


def teacher_name(model: str) -> str:
    """A name for the records that never leaks a local absolute path."""
    return Path(model).expanduser().name if looks_like_path(model) else model


def generate(cfg: RunConfig, problems: list[dict[str, str]], work_dir: Path, engine: Any = None) -> list[dict[str, Any]]:
    """Sample what is missing from `generations.jsonl`, grading each batch as it lands."""
    from harness.console import progress
    from harness.engines import GenerationRequest, load_engine
    from harness.eval.grading import Grader
    from harness.eval.prompts import render_prompt

    path = work_dir / GENERATIONS
    n = cfg.teacher.n
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if path.exists():
        for rec in read_jsonl(path, tolerate_torn_tail=True):
            done.setdefault((rec["id"], rec["sample"]), rec)
    todo = [(p, [j for j in range(n) if (p["id"], j) not in done]) for p in problems]
    todo = [(p, js) for p, js in todo if js]
    if todo:
        engine = engine or load_engine(cfg.teacher.model, cfg.engine)
        batch = max(1, cfg.engine.batch_size // n)
        # One grader pool for every batch: a pool takes seconds to start.
        with progress() as bar, Grader(cfg.eval.grader_workers, cfg.eval.grader_timeout, strip_thinking=True) as grader:
            task = bar.add_task("teacher samples", total=len(problems) * n, completed=len(problems) * n - sum(len(js) for _, js in todo))
            for start in range(0, len(todo), batch):
                chunk = todo[start : start + batch]
                requests = [
                    GenerationRequest(render_prompt(engine.tokenizer, p["problem"], cfg.eval.instruction), f"teacher/{p['id']}", js)
                    for p, js in chunk
                ]
                outputs = engine.generate(requests, cfg.teacher.sampling)
                flat = [(p, j, c) for (p, js), comps in zip(chunk, outputs) for j, c in zip(js, comps)]
                grades = grader.grade([p["answer"] for p, _, _ in flat], [c.text for _, _, c in flat])
                records = [
                    {"id": p["id"], "sample": j, "text": c.text, "num_tokens": c.num_tokens,
                     "finish_reason": c.finish_reason, "outcome": g.outcome, "extracted": g.extracted}
                    for (p, j, c), g in zip(flat, grades)
                ]
                append_jsonl(path, records)
                for rec in records:
                    done[(rec["id"], rec["sample"])] = rec
                bar.advance(task, len(records))
    return [done[(p["id"], j)] for p in problems for j in range(n)]


def model_source(cfg: RunConfig, work_dir: Path, engine: Any = None) -> SourceResult:
    if not cfg.teacher.model:
        raise HarnessError(f"teacher.source=model needs a teacher model: give {spell('teacher.model', 'PATH')}")
    problems = load_problems(cfg)
    if not problems:
        raise HarnessError("no teacher problems to generate for")
    samples = generate(cfg, problems, work_dir, engine)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for rec in samples:
        by_id.setdefault(rec["id"], []).append(rec)
    name = teacher_name(cfg.teacher.model)
    records, dropped = [], []
    outcomes: dict[str, int] = {}
    for rec in samples:
        outcomes[rec["outcome"]] = outcomes.get(rec["outcome"], 0) + 1
    for p in problems:
        correct = [s for s in sorted(by_id[p["id"]], key=lambda s: s["sample"]) if s["outcome"] == "correct"]
        if not correct:
            dropped.append({"id": p["id"], "reason": f"no correct sample of {cfg.teacher.n}"})
            continue
        long_cot, short_cot = split_output(correct[0]["text"])
        records.append({"id": p["id"], "problem": p["problem"], "answer": p["answer"], "long_cot": long_cot,
                        "short_cot": short_cot, "source": "model", "teacher": name})
    return SourceResult(records, dropped, {"problems": len(problems), "samples": len(samples), "outcomes": outcomes})
