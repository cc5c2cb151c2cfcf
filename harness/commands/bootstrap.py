"""`harness bootstrap`: Build the built-in synthetic world (problems, teacher, tokenizer, tiny students)."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("bootstrap", parents=[parent], help="Build the built-in synthetic world (problems, teacher, tokenizer, tiny students).", description="Build the built-in synthetic world (problems, teacher, tokenizer, tiny students). (not built yet: issue #3)")
    p.set_defaults(func=not_built("bootstrap", 3))
