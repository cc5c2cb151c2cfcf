"""`harness score`: score generations made elsewhere from a JSONL file, without any model.

Each line holds a gold answer and a list of outputs (fields `answer` and `outputs` by
default), or only outputs plus `--benchmark NAME`, whose gold answers are matched by the
line's `id` (or by line order when the file has no ids).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import HarnessError
from harness.flag_names import CommandFlags
from harness.jsonl import read_jsonl, write_json


# The settings of `harness eval` that this command's flags stand for (no --set here).
FLAGS = CommandFlags({"eval.data_dir": "--data-dir", "eval.k": "--k", "eval.grader_timeout": "--timeout",
                      "eval.grader_workers": "--workers", "eval.audit_grader": "--audit-grader"})


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "score",
        parents=[parent],
        help="Score generations made elsewhere from a JSONL file, without any model.",
        description="Grade a JSONL of outputs (math-verify in sandboxed workers) and report pass@k, maj@k, avg@n.",
    )
    p.add_argument("file", help="JSONL with one problem per line: a gold answer and a list of outputs")
    p.add_argument("--benchmark", help="take gold answers from this benchmark (matched by id, else by line order)")
    p.add_argument("--data-dir", help="folder with <benchmark>.jsonl (with --benchmark)")
    p.add_argument("--k", default="1", help="pass@k values, comma-separated, each <= the samples per line")
    p.add_argument("--answer-field", default="answer", help="field holding the gold answer (default: answer)")
    p.add_argument("--outputs-field", default="outputs", help="field holding the list of outputs (default: outputs)")
    p.add_argument("--id-field", default="id", help="field holding the problem id (default: id)")
    p.add_argument("--timeout", type=float, default=5.0, help="hard seconds per graded sample")
    p.add_argument("--workers", type=int, default=2, help="grader worker processes")
    p.add_argument("--keep-thinking", action="store_true", help="grade outputs with their <think> blocks")
    p.add_argument("--audit-grader", default=None, help="second grader reported as a disagreement rate (boxed_string)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--json", metavar="PATH", help="write metrics and per-sample outcomes as JSON")
    p.set_defaults(func=run, setting_flags=FLAGS)


def _golds(rows: list[dict], args: argparse.Namespace) -> list[str]:
    if not args.benchmark:
        missing = next((i for i, r in enumerate(rows, 1) if args.answer_field not in r), None)
        if missing is not None:
            raise HarnessError(f"{args.file}:{missing}: no {args.answer_field!r} field (pass --benchmark NAME or --answer-field)")
        for i, r in enumerate(rows, 1):
            if not isinstance(r[args.answer_field], (str, int, float)) or isinstance(r[args.answer_field], bool):
                raise HarnessError(f"{args.file}:{i}: {args.answer_field!r} must be a string or a number, "
                                   f"got {type(r[args.answer_field]).__name__}")
        return [str(r[args.answer_field]) for r in rows]
    from harness.eval.benchmarks import get_benchmark

    problems = get_benchmark(args.benchmark).load(args.data_dir)
    by_id = {p.id: p.answer for p in problems}
    if all(args.id_field in r for r in rows):
        # A repeated id would count that problem twice in every metric.
        first: dict[str, int] = {}
        for i, r in enumerate(rows, 1):
            rid = str(r[args.id_field])
            if rid in first:
                raise HarnessError(f"{args.file}:{i}: id {rid!r} already used on line {first[rid]}")
            first[rid] = i
        unknown = next((str(r[args.id_field]) for r in rows if str(r[args.id_field]) not in by_id), None)
        if unknown is not None:
            raise HarnessError(f"{args.file}: id {unknown!r} is not in benchmark {args.benchmark!r}")
        return [by_id[str(r[args.id_field])] for r in rows]
    if len(rows) != len(problems):
        raise HarnessError(f"{args.file}: {len(rows)} lines without ids, but {args.benchmark!r} has {len(problems)} problems")
    return [p.answer for p in problems]


def _outputs(rows: list[dict], args: argparse.Namespace) -> list[list[str]]:
    out = []
    for i, r in enumerate(rows, 1):
        value = r.get(args.outputs_field)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise HarnessError(f"{args.file}:{i}: {args.outputs_field!r} must be a non-empty list of strings")
        out.append(value)
    return out


def score_file(args: argparse.Namespace) -> dict:
    from harness.config import check_seed
    from harness.eval.grading import grade_many
    from harness.eval.metrics import check_ks, compute_metrics
    from harness.registries import GRADERS

    check_seed(args.seed, "--seed")
    audit = GRADERS.get(args.audit_grader) if args.audit_grader else None  # a typo fails before grading
    if args.workers < 1:
        raise HarnessError(f"--workers must be at least 1, got {args.workers}")
    if not (args.timeout > 0 and args.timeout != float("inf")):
        raise HarnessError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    rows = read_jsonl(args.file)
    if not rows:
        raise HarnessError(f"{args.file}: no lines to score")
    outputs = _outputs(rows, args)
    golds = _golds(rows, args)
    try:
        ks = [int(k) for k in str(args.k).split(",") if k.strip()]
    except ValueError:
        raise HarnessError(f"--k must be comma-separated integers, got {args.k!r}") from None
    shortest = min(len(o) for o in outputs)
    check_ks(ks, shortest, fix=f"lower --k (a line of {args.file} has {shortest} outputs)")
    flat = [(i, j, golds[i], text) for i, outs in enumerate(outputs) for j, text in enumerate(outs)]
    strip = not args.keep_thinking
    grades = grade_many([g for _, _, g, _ in flat], [t for _, _, _, t in flat], args.timeout, args.workers, strip, progress_label="grade")
    samples = [{"index": i, "sample": j, "outcome": g.outcome, "extracted": g.extracted} for (i, j, _, _), g in zip(flat, grades)]
    per_problem, pos = [], 0
    for outs in outputs:
        per_problem.append(samples[pos : pos + len(outs)])
        pos += len(outs)
    result = {"metrics": compute_metrics(per_problem, ks, seed=args.seed), "samples": samples}
    if audit is not None:
        disagree = sum((s["outcome"] == "correct") != audit(g, t, strip) for s, (_, _, g, t) in zip(samples, flat))
        result["audit"] = {"grader": args.audit_grader, "disagreements": disagree, "samples": len(flat), "rate": disagree / len(flat)}
        result["metrics"]["audit_disagreement"] = result["audit"]["rate"]
    return result


def run(args: argparse.Namespace) -> int:
    from harness.eval.report import show
    from harness.jsonl import check_output_file

    if args.json:
        check_output_file(args.json, "--json")  # before grading: the scores must not be lost at the end
    result = score_file(args)
    show({Path(args.file).name: result}, title="Scores")
    if args.json:
        write_json(Path(args.json), result)
    return 0
