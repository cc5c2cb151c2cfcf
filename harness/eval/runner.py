"""Evaluate one model on one benchmark: generate (resumable), grade (sandboxed), score.

Generations go to `work_dir/generations.jsonl`, one record per (problem, sample index),
appended and flushed after every engine call. Each record carries a key that hashes the
model fingerprint, the sampling settings, the prompt settings and the benchmark checksum;
on restart, records with the current key are kept and only missing samples are generated,
so a kill at any point loses at most the batch in flight and never duplicates a record.
Grades are cached the same way in `grades.jsonl`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from harness.config import EvalConfig
from harness.console import log, progress
from harness.engines.base import Engine, GenerationRequest, check_context
from harness.errors import HarnessError
from harness.eval.benchmarks import Problem, benchmark_checksum, get_benchmark
from harness.eval.grading import Grader
from harness.eval.metrics import STRUCTURAL, check_ks, compute_metrics
from harness.eval.prompts import render_prompt
from harness.fingerprint import model_fingerprint
from harness.jsonl import append_jsonl, read_jsonl, write_json
from harness.registries import GRADERS
from harness.store import hash_key

GENERATIONS = "generations.jsonl"
GRADES = "grades.jsonl"
GRADER_VERSION = 1  # bump when grading.py changes what it decides
GRADE_CHUNK = 256


def load_problems(benchmark: str, cfg: EvalConfig) -> tuple[list[Problem], str]:
    """The benchmark's problems (first `cfg.limit`) and the checksum of its full content."""
    problems = get_benchmark(benchmark).load(cfg.data_dir)
    checksum = benchmark_checksum(problems)
    if cfg.limit is not None:
        problems = problems[: cfg.limit]
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise HarnessError(f"benchmark {benchmark!r} has duplicate problem id {p.id!r}")
        seen.add(p.id)
    return problems, checksum


def generation_key(engine: Engine, cfg: EvalConfig, checksum: str, seed: int, enable_thinking: bool | None) -> str:
    return hash_key(
        {
            "model": model_fingerprint(engine.model_id),
            "engine": engine.name,
            "sampling": asdict(cfg.sampling),
            "instruction": cfg.instruction,
            "enable_thinking": enable_thinking,
            "checksum": checksum,
            "seed": seed,
        }
    )


def read_records(path: Path, key: str) -> dict[tuple[str, int], dict]:
    """Records of this configuration by (problem id, sample); the first copy wins."""
    if not path.exists():
        return {}
    out: dict[tuple[str, int], dict] = {}
    for record in read_jsonl(path, tolerate_torn_tail=True):
        if record.get("key") == key:
            out.setdefault((record["id"], record["sample"]), record)
    return out


def generate_all(
    engine: Engine,
    benchmark: str,
    problems: list[Problem],
    cfg: EvalConfig,
    work_dir: Path,
    key: str,
    seed: int,
    enable_thinking: bool | None,
) -> dict[tuple[str, int], dict]:
    path = work_dir / GENERATIONS
    have = read_records(path, key)
    prompts = {p.id: render_prompt(engine.tokenizer, p.problem, cfg.instruction, enable_thinking) for p in problems}
    todo = [(i, p, [j for j in range(cfg.n) if (p.id, j) not in have]) for i, p in enumerate(problems)]
    todo = [t for t in todo if t[2]]
    total = sum(len(t[2]) for t in todo)
    if not total:
        return have
    # Every prompt is checked before the first is generated: a benchmark must not fail at its
    # longest problem after hours of generation.
    requests = [GenerationRequest(prompts[p.id], f"run{seed}/{benchmark}/{p.id}", samples) for _, p, samples in todo]
    lengths = [len(ids) for ids in engine.tokenizer([r.prompt for r in requests], add_special_tokens=False)["input_ids"]]
    check_context(requests, lengths, cfg.sampling.max_new_tokens, getattr(engine, "max_context", None),
                  getattr(engine, "model_id", "the model"))
    if have:
        log(f"{benchmark}: resuming, {len(have)} samples on disk, {total} to generate")
    # Longest prompts first, so the engine's batches hold similar lengths.
    todo.sort(key=lambda t: -len(prompts[t[1].id]))
    chunk_rows = max(1, int(getattr(engine, "chunk_size", None) or getattr(getattr(engine, "cfg", None), "batch_size", 64)))
    with progress() as bar:
        task = bar.add_task(f"generate {benchmark}", total=total)
        start = 0
        greedy = cfg.sampling.temperature <= 0  # engines run a greedy prompt once for all its samples
        while start < len(todo):
            chunk, rows = [], 0
            while start < len(todo) and (not chunk or rows + (1 if greedy else len(todo[start][2])) <= chunk_rows):
                chunk.append(todo[start])
                rows += 1 if greedy else len(todo[start][2])
                start += 1
            requests = [GenerationRequest(prompts[p.id], f"run{seed}/{benchmark}/{p.id}", samples) for _, p, samples in chunk]
            completions = engine.generate(requests, cfg.sampling)
            records = [
                {"key": key, "index": i, "id": p.id, "sample": j, "text": c.text, "num_tokens": c.num_tokens,
                 "finish_reason": c.finish_reason, **({} if c.token_ids is None else {"token_ids": c.token_ids})}
                for (i, p, samples), outs in zip(chunk, completions)
                for j, c in zip(samples, outs)
            ]
            append_jsonl(path, records)
            for record in records:
                have[(record["id"], record["sample"])] = record
            bar.advance(task, len(records))
    return have


def grade_all(problems: list[Problem], gens: dict, cfg: EvalConfig, work_dir: Path, key: str) -> dict[tuple[str, int], dict]:
    grade_key = hash_key({"generations": key, "strip_thinking": cfg.strip_thinking, "timeout": cfg.grader_timeout, "v": GRADER_VERSION})
    path = work_dir / GRADES
    have = read_records(path, grade_key)
    gold = {p.id: p.answer for p in problems}
    todo = [(pid, j) for (pid, j) in sorted(gens, key=lambda k: (k[0], k[1])) if pid in gold and (pid, j) not in have]
    if not todo:
        return have
    with Grader(min(cfg.grader_workers, len(todo)), cfg.grader_timeout, cfg.strip_thinking) as grader:
        for start in range(0, len(todo), GRADE_CHUNK):
            chunk = todo[start : start + GRADE_CHUNK]
            grades = grader.grade(
                [gold[pid] for pid, _ in chunk],
                [gens[(pid, j)]["text"] for pid, j in chunk],
                progress_label=f"grade {start + len(chunk)}/{len(todo)}",
            )
            records = [{"key": grade_key, "id": pid, "sample": j, "outcome": g.outcome, "extracted": g.extracted} for (pid, j), g in zip(chunk, grades)]
            append_jsonl(path, records)  # graded chunks survive a kill too
            for record in records:
                have[(record["id"], record["sample"])] = record
    return have


def evaluate_benchmark(
    engine: Engine,
    benchmark: str,
    cfg: EvalConfig,
    work_dir: Path,
    seed: int,
    enable_thinking: bool | None = None,
) -> dict:
    """Generate n samples per problem (resuming), grade them and compute the metrics."""
    check_ks(cfg.k, cfg.n)
    work_dir = Path(work_dir)
    problems, checksum = load_problems(benchmark, cfg)
    key = generation_key(engine, cfg, checksum, seed, enable_thinking)
    gens = generate_all(engine, benchmark, problems, cfg, work_dir, key, seed, enable_thinking)
    grades = grade_all(problems, gens, cfg, work_dir, key)
    samples = []
    for i, p in enumerate(problems):
        for j in range(cfg.n):
            gen, grade = gens[(p.id, j)], grades[(p.id, j)]
            samples.append(
                {"index": i, "id": p.id, "sample": j, "outcome": grade["outcome"], "extracted": grade["extracted"],
                 "num_tokens": gen["num_tokens"], "finish_reason": gen["finish_reason"]}
            )
    per_problem = [samples[i * cfg.n : (i + 1) * cfg.n] for i in range(len(problems))]
    metrics = compute_metrics(per_problem, cfg.k, cfg.bootstrap_samples, seed)
    result = {
        "benchmark": benchmark,
        "checksum": checksum,
        "num_problems": len(problems),
        "metrics": metrics,
        "samples": samples,
        "generation": {
            "model": engine.model_id,
            "model_fingerprint": model_fingerprint(engine.model_id),
            "engine": engine.name,
            "sampling": asdict(cfg.sampling),
            "instruction": cfg.instruction,
            "chat_template": getattr(engine.tokenizer, "chat_template", None),
            "enable_thinking": enable_thinking,
            "strip_thinking": cfg.strip_thinking,
            "seed": seed,
            "key": key,  # of its records in generations.jsonl
        },
    }
    if cfg.audit_grader:
        result["audit"] = audit(problems, gens, grades, cfg)
        metrics["audit_disagreement"] = result["audit"]["rate"]
    write_json(work_dir / "result.json", result)
    return result


def audit(problems: list[Problem], gens: dict, grades: dict, cfg: EvalConfig) -> dict:
    """How often a second grader disagrees with math-verify; reported, never combined."""
    grader = GRADERS.get(cfg.audit_grader or "")
    gold = {p.id: p.answer for p in problems}
    disagree, total = 0, 0
    for p in problems:
        for j in range(cfg.n):
            main = grades[(p.id, j)]["outcome"] == "correct"
            disagree += main != grader(gold[p.id], gens[(p.id, j)]["text"], cfg.strip_thinking)
            total += 1
    return {"grader": cfg.audit_grader, "disagreements": disagree, "samples": total, "rate": disagree / total if total else 0.0}


def rescore(result: dict, cfg: EvalConfig, seed: int) -> dict:
    """A stored result with its metrics recomputed from its samples by the metrics registered now.

    A stored eval stage is read back without a model; scoring it again costs milliseconds, so
    a metric installed after the stage ran (a plugin's) still reports, and one uninstalled
    since no longer does. What no metric object writes (the audit rate) is kept as stored.
    """
    metrics = compute_metrics(group_by_problem(result["samples"]), cfg.k, cfg.bootstrap_samples, seed)
    kept = {k: v for k, v in result["metrics"].items() if k in STRUCTURAL and k not in metrics}
    return {**result, "metrics": {**metrics, **kept}}


def group_by_problem(samples: list[dict]) -> list[list[dict]]:
    """Samples grouped by problem, in problem then sample order."""
    by_problem: dict[int, list[dict]] = {}
    for sample in sorted(samples, key=lambda s: (s["index"], s["sample"])):
        by_problem.setdefault(sample["index"], []).append(sample)
    return list(by_problem.values())
