"""`harness smoke`: a preset's whole pipeline at toy scale, on a random stand-in of its student.

Minutes before hours: `harness smoke --preset paper-qwen3-8b` runs `harness run`'s pipeline
(teacher, method, train, eval, result record) with the preset's settings, except that the
student is a randomly initialised model of the student's architecture with a tokenizer
trained on the spot, the teacher data and the benchmarks are the built-in toy files, and
generation and training are a few tokens and steps long. It needs nothing from the Hub.
On a GPU it exercises the GPU path (the preset's engine and bf16 when present); on a CPU
it runs the transformers engine in float32 and says so. It ends with the checks the real
run will make of this machine (`harness.preflight`), so a missing vLLM or bf16 shows now.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.config import parse_override, resolve_run_config
from harness.console import log, stdout_console
from harness.errors import HarnessError
from harness.flag_names import CommandFlags
from harness.synth import ARCHS

if TYPE_CHECKING:
    from harness.preflight import Check

HELP = "Run a preset's whole pipeline in a minute on a random stand-in of its student (checks a set-up)."


def add_parser(sub, parent) -> None:
    p = sub.add_parser("smoke", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--preset", help="the preset to check, e.g. paper-qwen3-8b (or --config)")
    p.add_argument("--config", metavar="FILE", help="YAML config file (applied on top of --preset if both are given)")
    p.add_argument("--method", action="append", metavar="NAME[:key=value,...]",
                   help="as for harness run (default: the preset's method.name; 'all' runs every method)")
    p.add_argument("--arch", choices=ARCHS,
                   help="the stand-in's architecture (default: the preset student's, found offline)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field on top of the smoke's own settings (repeatable)")
    p.add_argument("--json", metavar="PATH", help="write the smoke's result record to PATH")
    p.add_argument("--force", action="store_true", help="rebuild the stand-in and recompute every stage")
    p.set_defaults(func=main, setting_flags=CommandFlags(takes_set=True))


def main(args: argparse.Namespace) -> int:
    import torch

    from harness import preflight
    from harness.commands.run import selectors_from_args
    from harness.jsonl import check_output_file
    from harness.method_runs import resolve_methods
    from harness.methods import get_method
    from harness.pipeline import run_pipeline
    from harness.smoke.plan import smoke_layer, smoke_methods
    from harness.smoke.standin import SHAPE, build_stand_in, student_arch
    from harness.store import RunStore

    if args.json:
        check_output_file(args.json, "--json")
    if not args.preset and not args.config:
        raise HarnessError("harness smoke needs the preset to check: --preset NAME (e.g. paper-qwen3-8b) or --config FILE")
    user = [parse_override(text) for text in args.overrides]
    real = resolve_run_config(args.preset, args.config, user)
    student = real.student.model
    if student.startswith("synth:"):
        raise HarnessError(f"the student {student} is built-in and already runs on a CPU: `harness run` it; "
                           "harness smoke stands in for a real student (e.g. --preset paper-qwen3-8b)")
    selectors = selectors_from_args(args, real)
    runs = resolve_methods(real, selectors)  # a bad method parameter is one line before anything is built
    arch = args.arch or student_arch(student)
    cuda = torch.cuda.is_available()
    standin = build_stand_in(RunStore(), arch, real.eval.benchmarks, force=args.force)
    layer, notes = smoke_layer(real, standin, cuda)
    log(f"smoke: {student} stands in as a random {arch} model ({SHAPE['num_hidden_layers']} layers, hidden "
        f"{SHAPE['hidden_size']}, context {standin.context}) with a tokenizer trained here; toy teacher rows in "
        f"the s1K-1.1 schema and toy benchmark files ({standin.model.parent})")
    for note in notes:
        log(f"smoke: {note}")
    cfg = resolve_run_config(args.preset, args.config, [layer, *user])
    threads = torch.get_num_threads()
    if not cuda:  # a toy model gains nothing from threads, and on a busy CPU their barriers cost more than the work
        torch.set_num_threads(1)
    try:
        with smoke_methods(selectors) as smoke_selectors:
            run_pipeline(cfg, smoke_selectors, json_path=args.json, force=args.force)
    finally:
        torch.set_num_threads(threads)
    trains = any(get_method(run.name).trains for run in runs)
    _report_real_run(preflight.machine_checks(real, trains), args)
    return 0


def _report_real_run(checks: list[Check], args: argparse.Namespace) -> None:
    """What the real run will check of this machine, and the smoke's last line."""
    from harness import preflight

    name = f"--preset {args.preset}" if args.preset else f"--config {args.config}"
    preflight.print_checks(checks, f"what `harness run {name}` needs of this machine")
    failed = preflight.failures(checks)
    verdict = ("the real run's machine checks pass" if not failed else
               "the real run would stop at: " + ", ".join(c.name for c in failed) + " (see above)")
    stdout_console().print(f"smoke passed: the pipeline ran end to end on the stand-in; {verdict}",
                           markup=False, highlight=False)
