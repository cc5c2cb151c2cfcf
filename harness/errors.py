"""The one error type for user mistakes, and the helpers that keep its message one bounded line.

Anything raised as `HarnessError` is shown by the CLI as a single line and exit code 2.
Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import reprlib
from typing import Any

# What an error may echo of a value the user gave: a config value can be a megabyte string or
# a list of lists (a YAML alias bomb), and printing it whole would flood or hang the terminal.
SHOWN_CHARS = 80
_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 5


class HarnessError(Exception):
    """A problem with the user's input: a missing file, a bad value, unknown names."""

    exit_code = 2


def brief(value: Any, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` for an error message, at most `limit` characters, however large or deep the value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, cut at a word boundary and marked with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    # Only a first word longer than the room (a URL, a path) is cut inside: nothing else would show.
    return (text[:cut] if cut > 0 else text[: limit - 1]).rstrip(" ,;:") + "…"
