"""`harness benchmarks`: list registered benchmarks with their problem counts and checksums."""

from __future__ import annotations

import argparse

from rich.table import Table

from harness.console import console
from harness.errors import HarnessError


def add_parser(sub, parent) -> None:
    p = sub.add_parser(
        "benchmarks",
        parents=[parent],
        help="List registered benchmarks with their problem counts.",
        description="List registered benchmarks; counts and checksums are shown where the data is available.",
    )
    p.add_argument("--data-dir", help="folder with <benchmark>.jsonl files (else $HARNESS_DATA_DIR, else the Hub)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.eval.benchmarks import BENCHMARKS, benchmark_checksum, get_benchmark

    table = Table(title="Benchmarks")
    for col in ("name", "problems", "checksum", "description"):
        table.add_column(col, justify="right" if col == "problems" else "left")
    notes = []
    for name in BENCHMARKS.names():
        bench = get_benchmark(name)
        try:
            problems = bench.load(args.data_dir)
            count, checksum = str(len(problems)), benchmark_checksum(problems)[:19]
        except HarnessError as exc:
            count, checksum = "-", "unavailable"
            notes.append(str(exc))
        table.add_row(name, count, checksum, getattr(bench, "description", "") or "")
    console.print(table)
    for note in notes:
        console.print(f"[dim]{note}[/dim]")
    return 0
