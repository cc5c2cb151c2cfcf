"""How the running command spells a setting, so that an error names a flag that exists.

The same setting is set differently by each command: `eval.data_dir` is `--data-dir DIR` for
`harness eval`, only `--set eval.data_dir=DIR` for `harness run`, and a config file's key for
code that calls the library directly. An error raised deep down (a benchmark the Hub cannot
serve, a sampling setting that cannot work) does not know which command it runs under, so each
command declares its setting flags (`p.set_defaults(setting_flags=CommandFlags(...))`), the CLI
makes them current while the command runs (`use_flags`), and the error spells its fix with `spell`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CommandFlags:
    """A command's flags that set config settings, and whether it reads `--set KEY=VALUE`."""

    flags: Mapping[str, str] = field(default_factory=dict)  # setting -> flag: {"eval.data_dir": "--data-dir"}
    takes_set: bool = False

    def values(self, args: Any) -> dict[str, Any]:
        """{setting: value} of these flags in parsed `args` (argparse's dest: `--data-dir` -> `data_dir`), None when not given."""
        return {setting: getattr(args, flag.lstrip("-").replace("-", "_")) for setting, flag in self.flags.items()}


_CURRENT: ContextVar[CommandFlags] = ContextVar("harness_command_flags", default=CommandFlags())


@contextmanager
def use_flags(flags: CommandFlags) -> Iterator[None]:
    """Make `flags` the running command's while the block runs (restored after, for in-process callers)."""
    token = _CURRENT.set(flags)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def spell(setting: str, value: str | None = None) -> str:
    """`setting` as the running command takes it.

    With a value: the command's own flag (`--data-dir DIR`), else its `--set` (`--set
    eval.data_dir=DIR`), else the config key (`eval.data_dir=DIR`). Without: the flag, else the key.
    """
    current = _CURRENT.get()
    flag = current.flags.get(setting)
    if value is None:
        return flag or setting
    if flag:
        return f"{flag} {value}"
    if current.takes_set:
        return f"--set {setting}={value}"
    return f"{setting}={value}"
