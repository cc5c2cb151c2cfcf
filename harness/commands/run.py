"""`harness run`: teacher -> method -> train -> eval -> result, each stage cached in the run store."""

from __future__ import annotations

import argparse

from harness.config import RunConfig, nested, parse_override, resolve_run_config, to_yaml
from harness.console import console
from harness.errors import HarnessError
from harness.flag_names import CommandFlags
from harness.registries import engine_names

HELP = "Run the whole pipeline for one method (or --method all) and print the result table."
# The settings this command's own flags set; every other setting is `--set KEY=VALUE`.
FLAGS = CommandFlags({"seed": "--seed", "student.model": "--student", "method.params.judge": "--judge",
                      "eval.benchmarks": "--benchmarks", "eval.n": "--n", "eval.k": "--k", "engine.name": "--engine"},
                     takes_set=True)


def add_parser(sub, parent) -> None:
    p = sub.add_parser("run", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--method", action="append", metavar="NAME[:key=value,...]",
                   help="registered method, optionally with pinned parameters (fixed_trunc:ratio=0.25); "
                        "repeat for several on the same teacher traces; 'all' runs every method and "
                        "its declared variants (fixed_trunc at ratios 0.25, 0.5 and 0.75)")
    p.add_argument("--preset", help="preset name from configs/ (default: synthetic)")
    p.add_argument("--config", metavar="FILE", help="YAML config file (applied on top of --preset if both are given)")
    p.add_argument("--seed", type=int, help="run seed (method sampling, training, evaluation)")
    p.add_argument("--student", help="student model: local folder, Hub id, or synth:tiny / synth:small")
    p.add_argument("--judge", help="shortcut for method.params.judge (palign's judge registry: rollout, self or a plugin's)")
    p.add_argument("--benchmarks", help="comma-separated benchmark names (eval.benchmarks)")
    p.add_argument("--n", type=int, help="samples per problem (eval.n; above 1 needs eval.sampling.temperature > 0)")
    p.add_argument("--k", help="comma-separated pass@k values (eval.k)")
    p.add_argument("--engine", choices=engine_names(), help="inference engine (engine.name)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set train.learning_rate=5e-4 (repeatable)")
    p.add_argument("--json", metavar="PATH", help="write the result record to PATH (a JSON list of records when several methods run)")
    p.add_argument("--exempt-dirty", metavar="REASON",
                   help="write a --json record into leaderboards/ from a tree with uncommitted changes, with this "
                        "reason in the record (the board prints it); without it such a run is refused before it starts")
    p.add_argument("--force", action="store_true", help="recompute every stage instead of reusing the store")
    p.add_argument("--show-config", action="store_true", help="print the fully resolved config, then run")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved config, the checks made before any stage (device, engine, student, "
                        "data; exit 2 when one fails) and the stage keys; run nothing")
    p.set_defaults(func=main, setting_flags=FLAGS)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    shortcuts = {"method.name": _single_name(args.method), **FLAGS.values(args)}
    overrides = [nested(key, value) for key, value in shortcuts.items() if value is not None]
    overrides += [parse_override(text) for text in args.overrides]
    return resolve_run_config(args.preset, args.config, overrides)


def _single_name(selectors: list[str] | None) -> str | None:
    """method.name when exactly one plain method is chosen (it names the config's method)."""
    from harness.method_runs import parse_selector

    if not selectors or len(selectors) != 1 or selectors[0] == "all":
        return None
    return parse_selector(selectors[0])[0]


def selectors_from_args(args: argparse.Namespace, cfg: RunConfig) -> list[str]:
    from harness.method_runs import all_selectors

    if not args.method:
        return [cfg.method.name]
    if "all" in args.method:
        if len(args.method) > 1:
            raise HarnessError("--method all runs every method; give it alone")
        return all_selectors()
    return list(args.method)


def main(args: argparse.Namespace) -> int:
    from harness.jsonl import check_output_file
    from harness.method_runs import resolve_methods
    from harness.pipeline import run_pipeline
    from harness.teacher.sources import get_source

    if args.json:
        check_output_file(args.json, "--json")
        check_board_provenance(args.json, args.exempt_dirty)
    cfg = config_from_args(args)
    selectors = selectors_from_args(args, cfg)
    # Fail fast on bad parameters, before any stage runs; keys other methods own are checked by those methods.
    resolve_methods(cfg, selectors)
    # Names only a later stage would look up; a typo must not cost a teacher stage first.
    get_source(cfg.teacher.source)
    if args.show_config or args.dry_run:
        console.print(to_yaml(cfg), markup=False, highlight=False)
    return run_pipeline(cfg, selectors, json_path=args.json, force=args.force, dry_run=args.dry_run,
                        exemption=args.exempt_dirty)


def check_board_provenance(json_path: str, exemption: str | None) -> None:
    """A record bound for a board from uncommitted code is refused before any stage spends time."""
    from harness.manifest import git_commit
    from harness.records import vouch

    vouch([{"manifest": {"git_commit": git_commit()}}], json_path, exemption)
