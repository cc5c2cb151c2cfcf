"""The one error type for user mistakes.

Anything raised as `HarnessError` is shown by the CLI as a single line and exit code 2.
Everything else is a bug and keeps its traceback.
"""


class HarnessError(Exception):
    """A problem with the user's input: a missing file, a bad value, unknown names."""

    exit_code = 2
