"""`harness train`: Fine-tune a model on an SFT JSONL file with the shared trainer."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("train", parents=[parent], help="Fine-tune a model on an SFT JSONL file with the shared trainer.", description="Fine-tune a model on an SFT JSONL file with the shared trainer. (not built yet: issue #5)")
    p.set_defaults(func=not_built("train", 5))
