"""`harness` command line: one module per subcommand under `harness.commands`.

User mistakes raise `HarnessError`: one line on stderr, exit code 2 (a traceback only with
--debug). So does a full disk, wherever a write hits it. Anything else is a bug and is shown
in full.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from harness import __version__
from harness.console import console, setup_cli_output
from harness.errors import HarnessError
from harness.flag_names import CommandFlags, use_flags

# (module under harness.commands, subcommand name); order is the order in --help.
COMMANDS = (
    ("run", "run"),
    ("smoke", "smoke"),
    ("eval_cmd", "eval"),
    ("score", "score"),
    ("teacher", "teacher"),
    ("train", "train"),
    ("methods", "methods"),
    ("benchmarks", "benchmarks"),
    ("leaderboard", "leaderboard"),
    ("power", "power"),
    ("bootstrap", "bootstrap"),
    ("export_lm_eval", "export-lm-eval"),
)


def common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--store", metavar="DIR", help="run store root (default: $HARNESS_STORE or ~/.cache/harness)")
    parent.add_argument("--verify", action="store_true",
                        help="hash every file of a stored stage before reusing it (sizes and small files are always checked)")
    parent.add_argument("--debug", action="store_true", help="show tracebacks for user errors too")
    return parent


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise HarnessError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness",
        description="Long-chain reasoning distillation: teacher data -> method -> training -> evaluation -> leaderboard.",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parent = common_options()
    for module_name, _ in COMMANDS:
        module = importlib.import_module(f"harness.commands.{module_name}")
        module.add_parser(sub, parent)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    setup_cli_output()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        check_environment()
        if getattr(args, "store", None):
            from harness.store import check_root

            check_root(args.store)  # a file, a system folder: one line now, not a traceback later
            os.environ["HARNESS_STORE"] = args.store
        if getattr(args, "verify", False):
            os.environ["HARNESS_VERIFY"] = "1"
        # Errors below spell their fixes with this command's flags (harness.flag_names).
        with use_flags(getattr(args, "setting_flags", CommandFlags())):
            return int(args.func(args) or 0)
    except HarnessError as exc:
        if debug:
            console.print_exception()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        from harness.jsonl import DISK_FULL, write_failed

        if exc.errno not in DISK_FULL:
            raise
        # Not a bug but the machine, hit by a write that does not name its file itself (a library's save).
        if debug:
            console.print_exception()
        error = write_failed(exc.filename, exc)
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def check_environment() -> None:
    """Read every numeric environment setting now: a bad one fails before any work, not hours into it."""
    from harness.console import progress_interval
    from harness.store_locks import lock_timeout

    progress_interval()
    lock_timeout()


if __name__ == "__main__":
    sys.exit(main())
