"""`harness teacher`: build teacher traces (synth, s1k or model source) and print a summary.

Settings come from the same preset/config/--set layers as `harness run`; the flags below
are shortcuts for `teacher.*` fields. The traces land in the run store's teacher stage,
so `harness run` with the same settings reuses them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.command_config import resolve_checked
from harness.config import DEFAULT_PRESET, nested, parse_override
from harness.console import console
from harness.flag_names import CommandFlags
from harness.jsonl import read_json, write_json
from harness.registries import SOURCES

HELP = "Build teacher traces (synth, s1k or model source) and print a summary."
# The settings this command's own flags set; every other setting is `--set KEY=VALUE`.
FLAGS = CommandFlags({"teacher.source": "--source", "teacher.dataset": "--dataset", "teacher.model": "--model",
                      "teacher.problems": "--problems", "teacher.limit": "--limit", "teacher.n": "--n"}, takes_set=True)


def add_parser(sub, parent) -> None:
    p = sub.add_parser("teacher", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--source", choices=SOURCES.names(), help="teacher.source (default from the preset: synth)")
    p.add_argument("--dataset", metavar="PATH_OR_ID", help="s1K-1.1 parquet/JSONL path or Hub id (teacher.dataset)")
    p.add_argument("--model", metavar="PATH", help="teacher model folder or Hub id for --source model (teacher.model)")
    p.add_argument("--problems", metavar="JSONL", help="id/problem/answer JSONL for --source model (default: synthetic teacher stream)")
    p.add_argument("--limit", type=int, metavar="N", help="keep at most N problems (teacher.limit)")
    p.add_argument("--n", type=int, help="samples per problem for --source model (teacher.n; above 1 needs teacher.sampling.temperature > 0)")
    p.add_argument("--decontaminate", action="store_true", help="drop problems that overlap a benchmark")
    p.add_argument("--preset", help="preset name from configs/ (default: synthetic)")
    p.add_argument("--config", metavar="FILE", help="YAML config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set teacher.sampling.temperature=0.8 (repeatable)")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON to PATH")
    p.add_argument("--force", action="store_true", help="rebuild the stage instead of reusing the store")
    p.set_defaults(func=main, setting_flags=FLAGS)


def main(args: argparse.Namespace) -> int:
    from harness.jsonl import check_output_file
    from harness.store import RunStore
    from harness.teacher import make_traces

    if args.json:
        check_output_file(args.json, "--json")

    flags = {**FLAGS.values(args), "teacher.decontaminate": True if args.decontaminate else None}
    overrides = [nested(key, value) for key, value in flags.items() if value is not None]
    overrides += [parse_override(text) for text in args.overrides]
    cfg = resolve_checked(args.preset, args.config, overrides, base_preset=DEFAULT_PRESET)
    path = make_traces(cfg, RunStore(), force=args.force)
    summary = read_json(path / "summary.json")
    print_summary(summary, path)
    if args.json:
        write_json(Path(args.json), {"stage": path.name, **summary})
    return 0


def print_summary(summary: dict, path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"teacher traces: {summary['source']} ({path.name})")
    table.add_column("")
    table.add_column("mean", justify="right")
    table.add_column("median", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("max", justify="right")
    for field, stats in summary["lengths"].items():
        for unit, label in (("sentences", "sentences"), ("tokens", summary["token_unit"])):
            s = stats[unit]
            table.add_row(f"{field} {label}", *(str(s[k]) for k in ("mean", "median", "p90", "max")))
    console.print(table)
    console.print(f"traces: {summary['num_traces']}   dropped: {summary['num_dropped']}   teacher: {', '.join(summary['teacher'])}")
    for reason, count in summary["dropped_reasons"].items():
        console.print(f"  dropped {count}: {reason}")
    cont = summary["contamination"]
    checked = ", ".join(f"{k} ({v})" for k, v in cont["checked"].items()) or "none"
    console.print(f"contamination ({cont['ngram']}-gram): {cont['num_flagged']} flagged against {checked}"
                  + ("; dropped" if cont["decontaminated"] and cont["num_flagged"] else ""))
    if cont["unavailable"]:
        console.print(f"  not checked (no local data): {', '.join(cont['unavailable'])}")
    console.print(f"stage: {path}")
