"""`harness eval`: evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals).

Defaults come from `EvalConfig` / `EngineConfig`, or a preset or config file; flags override
them and `--set` overrides everything, as for `harness run`. Each benchmark's
generations live in a run-store stage keyed by `harness.keys.eval_inputs`, so a rerun of
the same command resumes a killed run and a finished one is read back without a model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.config import RunConfig, nested, parse_override
from harness.config_sections import check_budgets
from harness.console import log, stdout_console
from harness.errors import HarnessError
from harness.fingerprint import model_fingerprint
from harness.flag_names import CommandFlags
from harness.jsonl import check_output_file, write_json
from harness.registries import GRADERS, engine_names


SAMPLING_FLAGS = ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens")
# The settings this command's own flags set, as given (--k is parsed, --keep-thinking and
# --enable-thinking are switches: build_config sets those three itself).
FLAGS = CommandFlags({
    "student.model": "--model", "seed": "--seed", "eval.benchmarks": "--benchmarks", "eval.n": "--n", "eval.k": "--k",
    "eval.data_dir": "--data-dir", "eval.limit": "--limit", "eval.instruction": "--instruction",
    "eval.grader_timeout": "--grader-timeout", "eval.grader_workers": "--grader-workers",
    "eval.audit_grader": "--audit-grader",
    **{f"eval.sampling.{name}": "--" + name.replace("_", "-") for name in SAMPLING_FLAGS},
    "engine.name": "--engine", "engine.batch_size": "--batch-size", "engine.cpu_processes": "--cpu-processes",
    "engine.dtype": "--dtype", "engine.tensor_parallel_size": "--tensor-parallel-size",
    "engine.data_parallel_size": "--data-parallel-size",
}, takes_set=True)


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise HarnessError(f"{flag} must be comma-separated integers, got {text!r}") from None


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "eval",
        parents=[parent],
        help="Evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals).",
        description="Evaluate a model on benchmarks: pass@k, maj@k and avg@n with intervals, the shares of samples "
                    "cut at the token cap and without an answer, and the tokens of correct and of incorrect samples; "
                    "--budgets adds accuracy against token budget from the same generations. Generations are stored "
                    "per sample and resume after a kill.",
    )
    p.add_argument("--model", required=True, help="local folder, Hub id, or synth:tiny / synth:small")
    p.add_argument("--benchmarks", default=None, help="comma-separated names (see `harness benchmarks`); default synth_target,synth_routine")
    p.add_argument("--n", type=int, default=None, help="samples per problem (default 1; more than 1 needs --temperature > 0)")
    p.add_argument("--k", default=None, help="pass@k values, comma-separated, each <= n (default 1)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default 0); --n above 1 needs a sampling temperature, e.g. 0.6")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--budgets", default=None, metavar="B1,B2,...",
                   help="token budgets, each <= --max-new-tokens: accuracy with every generation cut at each budget "
                        "and graded again, from the one generation pass (not budget forcing: the text is only cut)")
    p.add_argument("--seed", type=int, default=None, help="run seed (per-sample streams derive from it)")
    p.add_argument("--engine", choices=engine_names(), default=None)
    p.add_argument("--batch-size", type=int, default=None, help="prompts per batch (transformers engine)")
    p.add_argument("--cpu-processes", type=int, default=None,
                   help="transformers engine on CPU: decode in this many single-threaded processes (same samples)")
    p.add_argument("--dtype", default=None, help="auto | float32 | bfloat16 | float16")
    p.add_argument("--tensor-parallel-size", type=int, default=None, help="vLLM tensor parallelism")
    p.add_argument("--data-parallel-size", type=int, default=None,
                   help="vLLM: this many engine replicas, each on --tensor-parallel-size GPUs (same samples)")
    p.add_argument("--data-dir", default=None, help="folder with <benchmark>.jsonl (id, problem, answer); else $HARNESS_DATA_DIR, else the Hub")
    p.add_argument("--limit", type=int, default=None, help="only the first N problems of each benchmark")
    p.add_argument("--instruction", default=None, help="prompt instruction (default: the paper's)")
    p.add_argument("--enable-thinking", action=argparse.BooleanOptionalAction, default=None, help="passed to chat templates that support it")
    p.add_argument("--keep-thinking", action="store_true", help="grade the output with its <think> blocks")
    p.add_argument("--grader-timeout", type=float, default=None, help="hard seconds per graded sample (default 5)")
    p.add_argument("--grader-workers", type=int, default=None)
    p.add_argument("--audit-grader", default=None,
                   help=f"second grader reported as a disagreement rate ({', '.join(GRADERS.names())})")
    p.add_argument("--preset", help="preset name from configs/ (default: none, the built-in defaults)")
    p.add_argument("--config", metavar="FILE", help="YAML config file (applied on top of --preset if both are given)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set eval.sampling.top_k=20 (repeatable; applied last)")
    p.add_argument("--force", action="store_true", help="regenerate even if a stored result exists")
    p.add_argument("--json", metavar="PATH", help="write metrics and per-sample outcomes as JSON")
    p.set_defaults(func=run, setting_flags=FLAGS)


def build_config(args: argparse.Namespace) -> RunConfig:
    """The config layers of `harness run` (--preset, --config, then these flags, then --set), checked whole.

    Without --preset or --config it starts from the dataclass defaults, not the synthetic
    preset: `harness eval` evaluates any model. Every section is checked, method parameters
    included, even those evaluation does not read: a bad value is refused wherever it is given.
    """
    from harness.command_config import resolve_checked

    # Flag-named messages for the flags' own mistakes; the same values from --set are named by key.
    if args.n is not None and args.n < 1:
        raise HarnessError("--n must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise HarnessError("--limit must be at least 1")
    flags = {
        **FLAGS.values(args), "eval.k": _ints(args.k, "--k") if args.k else None,
        "student.enable_thinking": args.enable_thinking, "eval.strip_thinking": False if args.keep_thinking else None,
    }
    overrides = [nested(key, value) for key, value in flags.items() if value is not None]
    overrides += [parse_override(text) for text in args.overrides]
    cfg = resolve_checked(args.preset, args.config, overrides)
    # --budgets is checked against the resolved cap, so its error names the flags; --set still wins.
    if args.budgets is not None and "eval.budgets" not in {text.split("=", 1)[0].strip() for text in args.overrides}:
        cfg.eval.budgets = check_budgets(_ints(args.budgets, "--budgets"), cfg.eval.sampling.max_new_tokens,
                                         "--budgets", "--max-new-tokens")
    return cfg


def _validate(cfg: RunConfig) -> None:
    from harness.config import check_ranges

    check_ranges(cfg)  # a config built in code, not by build_config: engine and benchmarks before any stage


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

    Each benchmark goes through the eval stage `harness run` uses (`harness.stages.stage_eval`),
    so a stored evaluation of the same model, benchmark and settings serves both commands
    (read back, it is rescored by the metrics registered now). `paths`, when given, receives
    each benchmark's stored result.json.
    """
    from harness import stages
    from harness.engine_cache import EngineCache
    from harness.eval.runner import load_problems
    from harness.store import RunStore

    store = store or RunStore()
    _validate(cfg)
    for name in cfg.eval.benchmarks:  # missing data is a one-line error before any model is built or loaded
        load_problems(name, cfg.eval)
    model = resolve_model(cfg.student.model, cfg, store)
    fingerprint = model_fingerprint(model)
    engines = EngineCache(cfg.engine)  # loaded only for a benchmark that is not stored yet
    results: dict[str, dict] = {}
    try:
        for name in cfg.eval.benchmarks:
            results[name], stage = stages.stage_eval(cfg, store, model, fingerprint, name, engines, force)
            if paths is not None:
                paths[name] = stage.path / "result.json"
    finally:
        engines.release()
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
