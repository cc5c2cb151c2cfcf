"""`harness methods`: list registered distillation methods with their parameters."""

from __future__ import annotations

import argparse

from rich.table import Table

from harness.config import field_help

HELP = "List registered distillation methods with their parameters."


def add_parser(sub, parent) -> None:
    p = sub.add_parser("methods", parents=[parent], help=HELP, description=HELP)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from harness.methods import METHODS, get_method

    table = Table(title="Registered methods (set parameters with --set method.params.NAME=VALUE)", show_lines=True)
    table.add_column("method", style="bold")
    table.add_column("trains")
    table.add_column("description")
    table.add_column("parameters (default)")
    for name in METHODS.names():
        spec = get_method(name)
        rows = field_help(spec.params)
        params = "\n".join(
            f"{escape(n)} = {escape(d)}" + (f"  [dim]{escape(h)}[/dim]" if h else "") for n, d, h in rows
        ) or "-"
        description = spec.description
        if spec.variants:
            shown = "; ".join(",".join(f"{k}={v}" for k, v in v.items()) for v in spec.variants)
            description += f"\n--method all runs: {shown}"
        table.add_row(escape(name), "yes" if spec.trains else "no", escape(description), params)
    Console(width=160).print(table)
    return 0
