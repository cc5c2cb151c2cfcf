"""`harness eval`: evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals).

Defaults come from `EvalConfig` / `EngineConfig`; flags override them. Each benchmark's
generations live in a run-store stage keyed by `harness.keys.eval_inputs`, so a rerun of
the same command resumes a killed run and a finished one is read back without a model.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from harness.config import RunConfig
from harness.console import log, stdout_console
from harness.errors import HarnessError
from harness.fingerprint import model_fingerprint
from harness.jsonl import check_output_file, read_json, write_json
from harness.registries import engine_names


def _ks(text: str) -> list[int]:
    try:
        return [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise HarnessError(f"--k must be comma-separated integers, got {text!r}") from None


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "eval",
        parents=[parent],
        help="Evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals).",
        description="Evaluate a model on benchmarks. Generations are stored per sample and resume after a kill.",
    )
    p.add_argument("--model", required=True, help="local folder, Hub id, or synth:tiny / synth:small")
    p.add_argument("--benchmarks", default=None, help="comma-separated names (see `harness benchmarks`); default synth_target,synth_routine")
    p.add_argument("--n", type=int, default=None, help="samples per problem (default 1)")
    p.add_argument("--k", default=None, help="pass@k values, comma-separated, each <= n (default 1)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default 0)")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--seed", type=int, default=None, help="run seed (per-sample streams derive from it)")
    p.add_argument("--engine", choices=engine_names(), default=None)
    p.add_argument("--batch-size", type=int, default=None, help="prompts per batch (transformers engine)")
    p.add_argument("--dtype", default=None, help="auto | float32 | bfloat16 | float16")
    p.add_argument("--tensor-parallel-size", type=int, default=None, help="vLLM tensor parallelism")
    p.add_argument("--data-dir", default=None, help="folder with <benchmark>.jsonl (id, problem, answer); else $HARNESS_DATA_DIR, else the Hub")
    p.add_argument("--limit", type=int, default=None, help="only the first N problems of each benchmark")
    p.add_argument("--instruction", default=None, help="prompt instruction (default: the paper's)")
    p.add_argument("--enable-thinking", action=argparse.BooleanOptionalAction, default=None, help="passed to chat templates that support it")
    p.add_argument("--keep-thinking", action="store_true", help="grade the output with its <think> blocks")
    p.add_argument("--grader-timeout", type=float, default=None, help="hard seconds per graded sample (default 5)")
    p.add_argument("--grader-workers", type=int, default=None)
    p.add_argument("--audit-grader", default=None, help="second grader reported as a disagreement rate (boxed_string)")
    p.add_argument("--force", action="store_true", help="regenerate even if a stored result exists")
    p.add_argument("--json", metavar="PATH", help="write metrics and per-sample outcomes as JSON")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> RunConfig:
    """RunConfig defaults with the command's flags applied."""
    cfg = RunConfig()
    ev, eng = cfg.eval, cfg.engine
    sampling = replace(
        ev.sampling,
        **{k: v for k, v in dict(
            temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
            repetition_penalty=args.repetition_penalty, max_new_tokens=args.max_new_tokens,
        ).items() if v is not None},
    )
    ev = replace(ev, sampling=sampling, **{k: v for k, v in dict(
        n=args.n, k=_ks(args.k) if args.k else None, data_dir=args.data_dir, limit=args.limit,
        instruction=args.instruction, grader_timeout=args.grader_timeout, grader_workers=args.grader_workers,
        audit_grader=args.audit_grader,
        benchmarks=[b.strip() for b in args.benchmarks.split(",") if b.strip()] if args.benchmarks else None,
    ).items() if v is not None})
    if args.keep_thinking:
        ev = replace(ev, strip_thinking=False)
    eng = replace(eng, **{k: v for k, v in dict(
        name=args.engine, batch_size=args.batch_size, dtype=args.dtype, tensor_parallel_size=args.tensor_parallel_size,
    ).items() if v is not None})
    student = replace(cfg.student, model=args.model, enable_thinking=args.enable_thinking)
    return replace(cfg, eval=ev, engine=eng, student=student, seed=args.seed if args.seed is not None else cfg.seed)


def _validate(cfg: RunConfig) -> None:
    from harness.config import check_ranges
    from harness.eval.benchmarks import BENCHMARKS
    from harness.eval.metrics import check_ks

    if cfg.eval.n < 1:
        raise HarnessError("--n must be at least 1")
    if cfg.eval.limit is not None and cfg.eval.limit < 1:
        raise HarnessError("--limit must be at least 1")
    check_ks(cfg.eval.k, cfg.eval.n)
    if not cfg.eval.benchmarks:
        raise HarnessError("no benchmarks given")
    for name in cfg.eval.benchmarks:
        BENCHMARKS.get(name)  # unknown names fail before any model is loaded
    check_ranges(cfg)  # engine name and dtype too, before a stage folder is begun


def resolve_model(model: str, cfg: RunConfig, store) -> str:
    if not model.startswith("synth:"):
        return model
    try:
        from harness.synth.world import STUDENT_SIZES, resolve_student, student_stage
    except ImportError:
        raise HarnessError("synthetic students (synth:...) are not available in this installation") from None
    size = model.split(":", 1)[1]
    if size not in STUDENT_SIZES:
        return resolve_student(model, cfg.world, store)  # its one-line error
    with student_stage(cfg.world, store, size).lock():  # built once, even by two commands at once
        return resolve_student(model, cfg.world, store)


def evaluate(cfg: RunConfig, store=None, force: bool = False, paths: dict | None = None) -> dict[str, dict]:
    """Evaluate `cfg.student.model` on `cfg.eval.benchmarks` through the run store.

    `paths`, when given, receives each benchmark's stored result.json."""
    from harness import keys
    from harness.engines import load_engine
    from harness.eval.runner import evaluate_benchmark, load_problems
    from harness.manifest import build_manifest, now
    from harness.store import RunStore

    store = store or RunStore()
    _validate(cfg)
    # Missing benchmark data is a one-line error before any model is built or loaded.
    checksums = {name: load_problems(name, cfg.eval)[1] for name in cfg.eval.benchmarks}
    model = resolve_model(cfg.student.model, cfg, store)
    fingerprint = model_fingerprint(model)
    engine = None
    results: dict[str, dict] = {}
    for name in cfg.eval.benchmarks:
        checksum = checksums[name]
        stage = store.stage("eval", keys.eval_inputs(cfg, fingerprint, name, checksum), label=name)
        with stage.lock():  # a second `harness eval` of the same settings waits, then reuses
            if stage.done and not force:
                log(f"{name}: stored result {stage.path}")
                results[name] = read_json(stage.path / "result.json")
                continue
            stage.report_damage()
            started = now()
            work = stage.begin(force=force)
            if engine is None:
                engine = load_engine(model, cfg.engine)
            result = evaluate_benchmark(engine, name, cfg.eval, work, cfg.seed, cfg.student.enable_thinking)
            stage.commit(build_manifest(cfg, seeds={"seed": cfg.seed}, started=started, model=fingerprint,
                                        benchmark=name, checksum=checksum))
            results[name] = result
        if paths is not None:
            paths[name] = stage.path / "result.json"
    return results


def run(args: argparse.Namespace) -> int:
    from harness.eval.report import json_samples, show

    cfg = build_config(args)
    if args.json:
        check_output_file(args.json, "--json")
    paths: dict[str, Path] = {}
    results = evaluate(cfg, force=args.force, paths=paths)
    show(results, title=f"{cfg.student.model}")
    if args.json:
        payload = {"benchmarks": {name: {**{k: v for k, v in r.items() if k != "samples"},
                                         "samples": json_samples(r["samples"])} for name, r in results.items()}}
        write_json(Path(args.json), payload)
        log(f"wrote {args.json}")
    out = stdout_console()
    for name, path in paths.items():  # the run's last lines: where each result is stored
        out.print(f"result of {name}: {path}", markup=False, highlight=False)
    return 0
