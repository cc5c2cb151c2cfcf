"""Numeric settings read from environment variables, checked like every other setting.

A value that cannot work (not a number, negative, infinite) is one line naming the
variable, its value and the accepted range, never a silent default or clamp. The CLI
reads each such variable before any work (`harness.cli.main`), so a typo fails at once,
not when a stage first waits on a lock hours into a run.
"""

from __future__ import annotations

import math
import os

from harness.errors import HarnessError


def env_seconds(name: str, minimum: float, unset: str) -> float | None:
    """`$name` as a finite number of seconds >= `minimum`; None when it is unset or empty.

    `unset` says what happens without the variable, for the error line.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= minimum):
        raise HarnessError(f"{name}={raw!r}: it must be a number of seconds >= {minimum:g} (unset, {unset})")
    return value
