"""`harness methods`: List registered distillation methods with their parameters."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("methods", parents=[parent], help="List registered distillation methods with their parameters.", description="List registered distillation methods with their parameters. (not built yet: issue #6)")
    p.set_defaults(func=not_built("methods", 6))
