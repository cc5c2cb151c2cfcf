"""`harness benchmarks`: List registered benchmarks with their problem counts."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("benchmarks", parents=[parent], help="List registered benchmarks with their problem counts.", description="List registered benchmarks with their problem counts. (not built yet: issue #4)")
    p.set_defaults(func=not_built("benchmarks", 4))
