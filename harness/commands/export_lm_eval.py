"""`harness export-lm-eval`: write an lm-eval task folder for a benchmark with the harness's grader."""

from __future__ import annotations

import argparse
from dataclasses import replace

from harness.config import EvalConfig
from harness.console import console
from harness.errors import HarnessError
from harness.flag_names import CommandFlags

# The evaluation settings this command's flags stand for (no --set here).
FLAGS = CommandFlags({"eval.data_dir": "--data-dir", "eval.limit": "--limit", "eval.n": "--n", "eval.k": "--k",
                      "eval.sampling.temperature": "--temperature", "eval.sampling.top_p": "--top-p",
                      "eval.sampling.max_new_tokens": "--max-new-tokens", "eval.instruction": "--instruction"})


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "export-lm-eval",
        parents=[parent],
        help="Write an lm-eval task folder for a benchmark with the harness's grader.",
        description="Write an lm-eval task (YAML, local data, utils.py using harness.eval.grading) so lm-eval scores "
        "any model on the same data, prompt and grading. Run it with --include_path DIR --apply_chat_template.",
    )
    p.add_argument("--benchmark", required=True, help="a registered benchmark (see `harness benchmarks`)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the task into")
    p.add_argument("--data-dir", help="folder with <benchmark>.jsonl (else $HARNESS_DATA_DIR, else the Hub)")
    p.add_argument("--limit", type=int, help="only the first N problems")
    p.add_argument("--n", type=int, default=1, help="samples per problem (lm-eval `repeats`; more than 1 needs --temperature > 0)")
    p.add_argument("--k", default="1", help="pass@k metrics to report, each <= n")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=None, help="lm-eval max_gen_toks (default: EvalConfig's)")
    p.add_argument("--instruction", default=None, help="prompt instruction (default: the paper's)")
    p.add_argument("--task-name", default=None, help="lm-eval task name (default harness_<benchmark>)")
    p.set_defaults(func=run, setting_flags=FLAGS)


def run(args: argparse.Namespace) -> int:
    from harness.commands.eval_cmd import _ints
    from harness.eval.lmeval_export import export_task

    base = EvalConfig()
    cfg = replace(
        base,
        data_dir=args.data_dir,
        limit=args.limit,
        n=args.n,
        k=_ints(args.k, "--k"),
        instruction=args.instruction if args.instruction is not None else base.instruction,
        sampling=replace(base.sampling, temperature=args.temperature, top_p=args.top_p),
    )
    from harness.config import check_sampled, check_sampling
    from harness.eval.metrics import check_ks

    if cfg.n < 1:
        raise HarnessError(f"--n must be at least 1, got {cfg.n}")
    check_ks(cfg.k, cfg.n)
    if cfg.limit is not None and cfg.limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {cfg.limit}")
    check_sampling(replace(cfg.sampling, max_new_tokens=cfg.sampling.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens), "sampling")
    check_sampled("eval.n", cfg.n, cfg.sampling, "eval.sampling")  # lm-eval's repeats of a greedy answer are copies
    path = export_task(args.benchmark, args.out, cfg, max_gen_toks=args.max_new_tokens, task_name=args.task_name)
    task = path.stem
    console.print(f"wrote {path.parent} (task {task})")
    console.print(f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {path.parent} --tasks {task} --apply_chat_template")
    return 0
