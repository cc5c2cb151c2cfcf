"""What a person sees: one rich console for the CLI, log lines, progress, and quiet third parties.

In a terminal, log lines go through rich's `RichHandler` and long loops show live progress
bars. Anywhere else (a log file, CI, `nohup`), everything is plain text a person can read
afterwards: timestamped log lines, a progress line per long loop at least every
`HARNESS_PROGRESS_INTERVAL` seconds (default 20, at least 0.1) with done/total, rate and time left,
and consoles so wide that no table is ever cut. The terminal check is made when something
is written, so redirecting a stream later is honoured.

`setup_cli_output()` (called by the CLI) keeps third-party output out of the way: tqdm
bars and Hugging Face progress bars are switched off outside a terminal, transformers and
datasets log only errors, known deprecation warnings are dropped and any other warning
becomes one log line.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.env import env_seconds

PROGRESS_INTERVAL_ENV = "HARNESS_PROGRESS_INTERVAL"
DEFAULT_PROGRESS_INTERVAL = 20.0
MIN_PROGRESS_INTERVAL = 0.1  # below this, a log would hold little but progress lines
# Outside a terminal a table takes its natural width: nothing is wrapped or cut.
FILE_WIDTH = 10_000

# Warnings every run would print, about library internals the harness cannot change.
KNOWN_WARNINGS = (
    r".*`past_key_values` is deprecated.*",
    r".*`is_gradient_checkpointing` is deprecated.*",
)


class _Console(Console):
    """A rich console that is as wide as it needs to be when it does not write to a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(FILE_WIDTH, 25)
        return Console.size.fget(self)  # type: ignore[attr-defined]

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console(stderr=True, highlight=False)
_stdout = _Console(highlight=False)


def stdout_console() -> Console:
    """The console for results (tables, record paths): stdout, never cut outside a terminal."""
    return _stdout


def interactive() -> bool:
    return console.is_terminal


# --------------------------------------------------------------------------- log lines

class _Handler(logging.Handler):
    """Rich log lines in a terminal, plain timestamped lines elsewhere (to the current sys.stderr)."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if console.is_terminal:
                if self._rich is None:
                    from rich.logging import RichHandler

                    self._rich = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
                self._rich.emit(record)
                return
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
            level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
            stream = sys.stderr
            stream.write(f"{stamp} {level}{record.getMessage()}\n")
            stream.flush()
        except Exception:  # a broken stream must not take the run down
            self.handleError(record)


logger = logging.getLogger("harness")
if not any(isinstance(h, _Handler) for h in logger.handlers):
    logger.addHandler(_Handler())
logger.setLevel(logging.INFO)
logger.propagate = False


def log(message: str) -> None:
    logger.info(message)


# --------------------------------------------------------------------------- progress

def progress_interval() -> float:
    """`$HARNESS_PROGRESS_INTERVAL` seconds (at least `MIN_PROGRESS_INTERVAL`), else the default."""
    value = env_seconds(PROGRESS_INTERVAL_ENV, MIN_PROGRESS_INTERVAL, f"it is {DEFAULT_PROGRESS_INTERVAL:g}")
    return DEFAULT_PROGRESS_INTERVAL if value is None else value


class LogProgress(Progress):
    """rich's Progress API without a live display: a log line per task every `interval` seconds and when it ends.

    Lines come from a timer thread, so a loop whose single step takes minutes still says
    it is alive. Each line: description, done/total (percent), rate, elapsed, time left.
    """

    def __init__(self, interval: float | None = None) -> None:
        super().__init__(TextColumn("{task.description}"), console=console, disable=True)
        self.interval = progress_interval() if interval is None else interval
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._ended: set[Any] = set()

    def start(self) -> None:
        if self._thread is None:
            self._halt.clear()
            self._thread = threading.Thread(target=self._tick, name="harness-progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._halt.set()
            self._thread.join()
            self._thread = None
        for task in list(self.tasks):
            self._end(task)

    def update(self, task_id: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(task_id, **kwargs)
        self._maybe_end(task_id)

    def advance(self, task_id: Any, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._maybe_end(task_id)

    def _maybe_end(self, task_id: Any) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is not None and task.finished:
            self._end(task)

    def _tick(self) -> None:
        while not self._halt.wait(self.interval):
            for task in list(self.tasks):
                if task.id not in self._ended:
                    log(self.line(task))

    def _end(self, task: Any) -> None:
        if task.id in self._ended:
            return
        self._ended.add(task.id)
        log(self.line(task, ended=True))

    @staticmethod
    def line(task: Any, ended: bool = False) -> str:
        done, total = task.completed, task.total
        elapsed = task.elapsed or 0.0
        rate = done / elapsed if elapsed > 0 else 0.0
        count = f"{done:g}/{total:g} ({100 * done / total:.0f}%)" if total else f"{done:g}"
        text = f"{task.description}: {count}, {_rate(rate)}, {_duration(elapsed)} elapsed"
        if ended:
            return text + ("" if not total or done >= total else " (stopped early)")
        if total and rate > 0 and done < total:
            text += f", ~{_duration((total - done) / rate)} left"
        return text


def _rate(per_second: float) -> str:
    if per_second >= 1 or per_second == 0:
        return f"{per_second:.1f}/s"
    return f"{60 * per_second:.1f}/min"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress() -> Progress:
    """A live bar in a terminal; periodic log lines (`LogProgress`) anywhere else."""
    if not console.is_terminal:
        return LogProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


# --------------------------------------------------------------------------- third parties

def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    logger.warning(f"{category.__name__}: {str(message).strip().splitlines()[0] if str(message).strip() else ''}")


def setup_cli_output() -> None:
    """Quiet third-party output for one CLI invocation (see the module docstring)."""
    quiet = {"TRANSFORMERS_VERBOSITY": "error", "DATASETS_VERBOSITY": "error", "HF_HUB_VERBOSITY": "error"}
    if not console.is_terminal:
        quiet.update(TQDM_DISABLE="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    for name, value in quiet.items():
        os.environ.setdefault(name, value)
    # Libraries imported before this call read their settings already: tell them directly.
    if "transformers" in sys.modules:
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            if not console.is_terminal:
                hf_logging.disable_progress_bar()
        except Exception:  # a partial install: nothing to quiet
            pass
    if "datasets" in sys.modules and not console.is_terminal:
        try:
            import datasets

            datasets.disable_progress_bars()
        except Exception:
            pass
    for pattern in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    warnings.showwarning = _show_warning
