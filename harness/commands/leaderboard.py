"""`harness leaderboard`: Render leaderboards/README.md from stored result records (--check to verify)."""

from __future__ import annotations

from harness.cli import not_built


def add_parser(sub, parent) -> None:
    p = sub.add_parser("leaderboard", parents=[parent], help="Render leaderboards/README.md from stored result records (--check to verify).", description="Render leaderboards/README.md from stored result records (--check to verify). (not built yet: issue #7)")
    p.set_defaults(func=not_built("leaderboard", 7))
