"""`harness export-lm-eval`: Write an lm-eval task folder for a benchmark with the harness's grader."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("export-lm-eval", parents=[parent], help="Write an lm-eval task folder for a benchmark with the harness's grader.", description="Write an lm-eval task folder for a benchmark with the harness's grader. (not built yet: issue #4)")
    p.set_defaults(func=not_built("export-lm-eval", 4))
