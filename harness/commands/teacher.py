"""`harness teacher`: Build teacher traces (synth, s1k or model source) and print a summary."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("teacher", parents=[parent], help="Build teacher traces (synth, s1k or model source) and print a summary.", description="Build teacher traces (synth, s1k or model source) and print a summary. (not built yet: issue #5)")
    p.set_defaults(func=not_built("teacher", 5))
