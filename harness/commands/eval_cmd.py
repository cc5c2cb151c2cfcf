"""`harness eval`: Evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals)."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("eval", parents=[parent], help="Evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals).", description="Evaluate a model on benchmarks (pass@k, avg@n, maj@k with confidence intervals). (not built yet: issue #4)")
    p.set_defaults(func=not_built("eval", 4))
