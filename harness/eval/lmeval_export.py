"""Export a benchmark as an lm-evaluation-harness task folder graded by our own grader.

The folder holds the data (`<task>.jsonl`, with the rendered user message in `query`),
the task YAML and a `utils.py` whose `process_results` calls `harness.eval.grading`, so
lm-eval scores any model on exactly the same problems, prompt and grading:

    lm_eval --model hf --model_args pretrained=MODEL --include_path DIR \\
        --tasks harness_aime24 --apply_chat_template

The YAML names the data file by absolute path (lm-eval resolves relative paths against
the working directory): export again after moving the folder.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.config import EvalConfig
from harness.engines.hf import END_OF_TURN
from harness.errors import HarnessError
from harness.eval.benchmarks import benchmark_checksum, get_benchmark
from harness.eval.metrics import check_ks
from harness.eval.prompts import user_message
from harness.jsonl import write_jsonl

UTILS = '''"""Written by `harness export-lm-eval`: grade with the harness's own sandboxed grader."""

import atexit

from harness.eval.grading import Grader
from harness.eval.metrics import pass_at_k

TIMEOUT = {timeout!r}
STRIP_THINKING = {strip_thinking!r}
KS = {ks!r}
_grader = None


def _get_grader():
    global _grader
    if _grader is None:
        _grader = Grader(workers=1, timeout=TIMEOUT, strip_thinking=STRIP_THINKING)
        atexit.register(_grader.close)
    return _grader


def process_results(doc, results):
    grades = _get_grader().grade([doc["answer"]] * len(results), list(results))
    correct = sum(g.outcome == "correct" for g in grades)
    n = len(results)
    out = {{"acc": correct / n}}
    for k in KS:
        if k <= n:
            out[f"pass@{{k}}"] = pass_at_k(n, correct, k)
    return out
'''


def export_task(
    benchmark: str,
    out_dir: str | Path,
    cfg: EvalConfig | None = None,
    max_gen_toks: int | None = None,
    task_name: str | None = None,
) -> Path:
    """Write the lm-eval task folder for `benchmark`; returns the YAML path."""
    cfg = cfg or EvalConfig()
    check_ks(cfg.k, cfg.n)
    problems = get_benchmark(benchmark).load(cfg.data_dir)
    checksum = benchmark_checksum(problems)
    if cfg.limit is not None:
        problems = problems[: cfg.limit]
    task = task_name or f"harness_{benchmark}"
    if not task.replace("_", "").isalnum():
        raise HarnessError(f"task name {task!r} must be letters, digits and underscores")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = out / f"{task}.jsonl"
    write_jsonl(data, ({"id": p.id, "problem": p.problem, "answer": p.answer, "query": user_message(p.problem, cfg.instruction)} for p in problems))
    sampling = cfg.sampling
    max_gen_toks = max_gen_toks or sampling.max_new_tokens
    if not isinstance(max_gen_toks, int):  # `context`: lm-eval takes a number
        raise HarnessError(f"lm-eval needs a number of new tokens, not max_new_tokens {max_gen_toks!r}; give --max-new-tokens N")
    generation = {"until": list(END_OF_TURN), "max_gen_toks": max_gen_toks}
    if sampling.temperature <= 0:
        generation.update(do_sample=False, temperature=0.0)
    else:
        generation.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        if sampling.top_k:
            generation["top_k"] = sampling.top_k
    if sampling.repetition_penalty != 1.0:
        generation["repetition_penalty"] = sampling.repetition_penalty
    metrics = [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]
    metrics += [{"metric": f"pass@{k}", "aggregation": "mean", "higher_is_better": True} for k in cfg.k if k > 1]
    spec = {
        "task": task,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "{{query}}",
        "doc_to_target": "{{answer}}",
        "target_delimiter": "",
        "process_results": "!function utils.process_results",
        "metric_list": metrics,
        "generation_kwargs": generation,
        "repeats": cfg.n,
        "num_fewshot": 0,
        "metadata": {"version": 1, "benchmark": benchmark, "checksum": checksum, "num_problems": len(problems)},
    }
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    # `!function` is lm-eval's YAML tag; safe_dump would quote it as a plain string.
    text = text.replace("'!function utils.process_results'", "!function utils.process_results")
    yaml_path = out / f"{task}.yaml"
    yaml_path.write_text(text, encoding="utf-8")
    (out / "utils.py").write_text(UTILS.format(timeout=cfg.grader_timeout, strip_thinking=cfg.strip_thinking, ks=list(cfg.k)), encoding="utf-8")
    return yaml_path
