"""`harness benchmarks`: list registered benchmarks with their problem counts and checksums."""

from __future__ import annotations

import argparse

from rich.table import Table

from harness.console import console
from harness.errors import HarnessError
from harness.flag_names import CommandFlags


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "benchmarks",
        parents=[parent],
        help="List registered benchmarks with their problem counts.",
        description="List registered benchmarks; counts and checksums are shown where the data is available.",
    )
    p.add_argument("--data-dir", help="folder with <benchmark>.jsonl files (else $HARNESS_DATA_DIR, else the Hub)")
    p.set_defaults(func=run, setting_flags=CommandFlags({"eval.data_dir": "--data-dir"}))


def run(args: argparse.Namespace) -> int:
    from harness.eval.benchmarks import BENCHMARKS, benchmark_checksum, get_benchmark
    from harness.hub import offline_reason

    table = Table(title="Benchmarks")
    for col in ("name", "problems", "checksum", "source", "description"):
        table.add_column(col, justify="right" if col == "problems" else "left")
    notes, not_cached = [], []
    for name in BENCHMARKS.names():
        bench = get_benchmark(name)
        try:
            problems = bench.load(args.data_dir)
            count, checksum = str(len(problems)), benchmark_checksum(problems)[:19]
        except HarnessError as exc:
            count, checksum = "-", "unavailable"
            if getattr(bench, "hf_id", None) and offline_reason():
                not_cached.append(name)  # said once below, not once per benchmark
            else:
                notes.append(str(exc))
        table.add_row(name, count, checksum, getattr(bench, "source", "local"), getattr(bench, "description", "") or "")
    console.print(table)
    if not_cached:
        notes.insert(0, f"offline ({offline_reason()}): {', '.join(not_cached)} not in the local Hub cache; pass "
                        f"--data-dir DIR or set HARNESS_DATA_DIR=DIR with <name>.jsonl files (id, problem, answer)")
    for note in notes:
        console.print(note, markup=False, style="dim")
    return 0
