"""`harness score`: Score generations made elsewhere from a JSONL file, without any model."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("score", parents=[parent], help="Score generations made elsewhere from a JSONL file, without any model.", description="Score generations made elsewhere from a JSONL file, without any model. (not built yet: issue #4)")
    p.set_defaults(func=not_built("score", 4))
